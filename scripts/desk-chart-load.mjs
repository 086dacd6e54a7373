// Ten chart requests with varied (days, until) while a switch polls the barring feed every 20 ms:
// prints the feed's latencies (median, p99, worst) and each chart's time and status.
//   node scripts/desk-chart-load.mjs http://127.0.0.1:18091 TOKEN [until-base=2026-03-30]
const [base, token, untilBase = '2026-03-30'] = process.argv.slice(2);
if (!base || !token) throw new Error('usage: node scripts/desk-chart-load.mjs BASE_URL TOKEN [YYYY-MM-DD]');
const headers = { authorization: `Bearer ${token}` };
const t0 = performance.now();
const day = (offset) => new Date(Date.parse(`${untilBase}T12:00:00Z`) - offset * 86_400_000).toISOString().slice(0, 10);
const charts = Array.from({ length: 10 }, async (_, i) => {
  const url = `${base}/api/v1/charts/daily?days=${20 + i}&until=${day(i)}`;
  const s = performance.now();
  const r = await fetch(url, { headers });
  await r.arrayBuffer();
  return { url: url.slice(base.length), status: r.status, ms: Math.round(performance.now() - s) };
});
let done = false;
const feed = [];
const poll = (async () => {
  while (!done) {
    const s = performance.now();
    const r = await fetch(`${base}/api/v1/barring.txt`, { headers });
    await r.text();
    feed.push(performance.now() - s);
    await new Promise((res) => setTimeout(res, 20));
  }
})();
const results = await Promise.all(charts);
done = true;
await poll;
feed.sort((a, b) => a - b);
const q = (p) => feed[Math.min(feed.length - 1, Math.floor(p * feed.length))].toFixed(1);
for (const r of results) console.log(`${r.status} ${r.ms} ms ${r.url}`);
console.log(`charts done in ${Math.round(performance.now() - t0)} ms; barring.txt: ${feed.length} polls, median ${q(0.5)} ms, p99 ${q(0.99)} ms, worst ${feed.at(-1).toFixed(1)} ms`);
