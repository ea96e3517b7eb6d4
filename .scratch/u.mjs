import { Agent } from 'undici';
import http from 'node:http';
const srv = http.createServer((q, r) => r.end('ok')).listen(0);
await new Promise(r => srv.once('listening', r));
const origin = `http://127.0.0.1:${srv.address().port}`;
const a = new Agent();
for (const [name, opts] of [
  ['crlf header', { headers: { 'x-a': 'a\r\nb' } }],
  ['nul header', { headers: { 'x-a': 'a\0b' } }],
  ['bad header name', { headers: { 'x a': 'b' } }],
  ['bad method', { method: 'GE T' }],
  ['path with space', { path: '/a b' }],
  ['path crlf', { path: '/a\r\nb' }],
  ['non-latin1 header', { headers: { 'x-a': 'é€' } }],
]) {
  try { const r = await a.request({ origin, path: '/', method: 'GET', ...opts }); await r.body.text(); console.log(name, 'OK', r.statusCode); }
  catch (e) { console.log(name, e.constructor.name, e.code, e.name, e.message); }
}
try { JSON.stringify({a: 1n}) } catch (e) { console.log('bigint', e.constructor.name, e.code, e.message) }
await a.close(); srv.close();
