/**
 * The V8 flags the streaming services run with (docker-compose.yml gives them to `cdr ingest` and the
 * workers through NODE_OPTIONS): every streaming process the bench starts gets them, so that it measures
 * what is deployed.
 *
 * A young generation of 32 MB a semi-space instead of V8's 16: a batch's objects (decoded calls, rated
 * rows, COPY text, records to publish) live across the whole batch, and in 16 MB many outlived two
 * scavenges and were promoted, to be collected again by the old generation's marking. Measured by the
 * streaming bench, runs interleaved on 2026-12-04: 134–137 µs a CDR against 147–152 without (64 MB:
 * 141–145). Not for `cdr rate`: on the 1 M-CDR month it was a tenth faster (27–33 s against 32–36 s, three
 * rounds), but a day's file of 34,000 CDRs, the run an operator makes daily, was slower in each of four
 * rounds (fresh 3.1–3.5 s against 2.5–3.0 s).
 */
export const STREAM_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];
