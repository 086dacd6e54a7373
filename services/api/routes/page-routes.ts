/**
 * The fraud desk's web page: static files from web/desk, and the charting library from node_modules
 * (no CDN: the desk may run without network).
 *
 * The page speaks French by default and English on request: `/` is sent in the language the browser's
 * Accept-Language prefers among the two (French when it names neither), as `<html lang>`, which the page
 * reads; the page's own switch overrides it and is remembered by the browser (web/desk/i18n.js).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyAccepts from '@fastify/accepts';
import fastifyStatic from '@fastify/static';
import { findUp } from '../../config/project-files.js';

/** The page's languages, the default first. */
export const PAGE_LANGUAGES = ['fr', 'en'] as const;
const DEFAULT_LANG_ATTRIBUTE = `<html lang="${PAGE_LANGUAGES[0]}">`;

export async function pageRoutes(app: FastifyInstance): Promise<void> {
  const webDir = findUp(join('web', 'desk'), import.meta.url);
  const page = readFileSync(join(webDir, 'index.html'), 'utf8');
  if (!page.includes(DEFAULT_LANG_ATTRIBUTE)) throw new Error(`${join(webDir, 'index.html')} must start its document with ${DEFAULT_LANG_ATTRIBUTE}: the server puts the negotiated language there`);
  await app.register(fastifyAccepts);
  const sendPage = async (req: FastifyRequest, reply: FastifyReply) => {
    const lang = req.languages([...PAGE_LANGUAGES]) || PAGE_LANGUAGES[0];
    return reply.header('content-language', lang).header('vary', 'Accept-Language').type('text/html; charset=utf-8')
      .send(page.replace(DEFAULT_LANG_ATTRIBUTE, `<html lang="${lang}">`));
  };
  app.get('/', { schema: { hide: true } }, sendPage);
  app.get('/index.html', { schema: { hide: true } }, sendPage);
  await app.register(fastifyStatic, { root: webDir, prefix: '/', index: false, schemaHide: true });
  const chartJs = findUp(join('node_modules', 'chart.js', 'dist'), import.meta.url);
  await app.register(fastifyStatic, { root: chartJs, prefix: '/vendor/chart.js/', decorateReply: false, schemaHide: true });
}
