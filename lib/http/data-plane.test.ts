import { describe, expect, it } from 'vitest';
import { dataPlane, matchDataPlane, pathOf, type DataPlaneRoute } from './data-plane';
import { handleHealthz } from './health';

describe('data-plane router', () => {
  it('answers the probe paths itself and leaves everything else to Next', async () => {
    expect(matchDataPlane('/healthz')?.handler).toBe(handleHealthz);
    expect(matchDataPlane('/readyz')).not.toBeNull();
    for (const path of ['/', '/signin', '/api/auth/session', '/healthz/extra', '/healthzz', '/_next/static/x.js']) {
      expect(matchDataPlane(path), path).toBeNull();
    }
    expect(dataPlane(new Request('http://localhost/users'))).toBeNull();
    const response = await dataPlane(new Request('http://localhost/healthz?verbose=1'));
    expect(response?.status).toBe(200);
  });

  it('matches prefix routes on whole path segments', async () => {
    const handler = async () => new Response('gateway');
    const routes: DataPlaneRoute[] = [{ path: '/v1/*', handler }];
    expect(matchDataPlane('/v1/messages', routes)?.handler).toBe(handler);
    expect(matchDataPlane('/v1/messages/count_tokens', routes)?.handler).toBe(handler);
    expect(matchDataPlane('/v10/messages', routes)).toBeNull();
    expect(matchDataPlane('/v1', routes)).toBeNull();
  });

  it('serves the gateway natively and everything else through its Web handler', () => {
    expect(matchDataPlane('/v1/messages')?.native).toBeTypeOf('function');
    expect(matchDataPlane('/managed/settings')?.native).toBeTypeOf('function');
    expect(matchDataPlane('/healthz')?.native).toBeUndefined();
    expect(matchDataPlane('/mcp')?.native).toBeUndefined();
  });

  it('takes the path from a request target without parsing a URL', () => {
    expect(pathOf('/readyz?x=1')).toBe('/readyz');
    expect(pathOf('/readyz')).toBe('/readyz');
    expect(pathOf('/?')).toBe('/');
  });
});
