/**
 * A web server on 127.0.0.1 with images (and things that pretend to be), for the remote-image
 * fetch: it records every request, so a test can say an address was never contacted.
 *
 *   /cat.png              a 1×1 PNG
 *   /redirect?to=<url>    302 to <url>
 *   /loop                 302 to itself
 *   /page.html            HTML
 *   /fake.png             HTML served as image/png
 *   /big.png              a PNG padded to 64 KiB
 *   /slow.png             the PNG, after 2 s
 *   anything else         404
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeServer, type FakeServer } from '@/lib/gateway/fake-upstreams/server';

export const TINY_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

export type FakeImageServer = FakeServer<never>;

export function startFakeImageServer(): Promise<FakeImageServer> {
  return startFakeServer<never>({}, { kind: 'hang' }, async ({ request, res }) => {
    const url = new URL(request.url, 'http://images.test');
    const send = (status: number, type: string, body: Buffer | string): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) }).end(body);
    };
    switch (url.pathname) {
      case '/cat.png':
        return send(200, 'image/png', TINY_PNG);
      case '/redirect':
        res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end();
        return;
      case '/loop':
        res.writeHead(302, { location: '/loop' }).end();
        return;
      case '/page.html':
        return send(200, 'text/html', '<html>hello</html>');
      case '/fake.png':
        return send(200, 'image/png', '<html>not an image</html>');
      case '/big.png':
        return send(200, 'image/png', Buffer.concat([TINY_PNG, Buffer.alloc(64 * 1024)]));
      case '/slow.png':
        await sleep(2_000);
        if (!res.destroyed) send(200, 'image/png', TINY_PNG);
        return;
      default:
        return send(404, 'text/plain', 'not found');
    }
  });
}
