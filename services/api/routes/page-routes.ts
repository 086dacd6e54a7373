/**
 * The fraud desk's web page: static files from web/desk, and the charting library from node_modules
 * (no CDN: the desk may run without network).
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { findUp } from '../../config/project-files.js';

export async function pageRoutes(app: FastifyInstance): Promise<void> {
  const webDir = findUp(join('web', 'desk'), import.meta.url);
  await app.register(fastifyStatic, { root: webDir, prefix: '/', index: ['index.html'], schemaHide: true });
  const chartJs = findUp(join('node_modules', 'chart.js', 'dist'), import.meta.url);
  await app.register(fastifyStatic, { root: chartJs, prefix: '/vendor/chart.js/', decorateReply: false, schemaHide: true });
}
