import { describe, expect, it } from 'vitest';
import { publicUrl } from './public-url';
import { loadEnv } from '@/lib/env';
import { childEnvironment, webProcessPlan } from './supervisor';

const settled = { databaseUrl: 'postgres://app@db.internal/gatehouse', secret: 's'.repeat(43), port: 3100, host: '0.0.0.0' };

describe('the environment npm start gives the web server and the worker', () => {
  it('carries the public URL it settled, default or configured, as the children read it', () => {
    const defaulted = childEnvironment({ NODE_ENV: 'production', PATH: '/usr/bin', PORT: '3100' }, { ...settled, publicUrl: publicUrl({ PORT: 3100 }) });
    expect(defaulted).toMatchObject({ GATEHOUSE_PUBLIC_URL: 'http://localhost:3100', NEXTAUTH_URL: 'http://localhost:3100', PORT: '3100', PATH: '/usr/bin' });
    // What a child derives from it is the same URL again: the issuer cannot drift between processes.
    expect(publicUrl(defaulted)).toBe('http://localhost:3100');

    const configured = childEnvironment(
      { NODE_ENV: 'production', GATEHOUSE_PUBLIC_URL: 'https://gatehouse.corp.example/', NEXTAUTH_URL: 'http://stale.example' },
      { ...settled, publicUrl: publicUrl({ GATEHOUSE_PUBLIC_URL: 'https://gatehouse.corp.example/', PORT: 3100 }) },
    );
    expect(configured).toMatchObject({
      GATEHOUSE_PUBLIC_URL: 'https://gatehouse.corp.example',
      NEXTAUTH_URL: 'https://gatehouse.corp.example',
      DATABASE_URL: settled.databaseUrl,
      GATEHOUSE_SECRET: settled.secret,
      HOST: '0.0.0.0',
    });
  });
});

describe('how many web processes npm start runs', () => {
  it('one per core with Redis, WEB_CONCURRENCY when set, one without Redis, and refuses more than one without it', () => {
    expect(webProcessPlan({ REDIS_URL: 'redis://r:6379' }, { dev: false, cores: 4 })).toEqual({ count: 4, reason: 'one per core' });
    // Ten connections a process: a big machine's every core would pass PostgreSQL's max_connections.
    expect(webProcessPlan({ REDIS_URL: 'redis://r:6379' }, { dev: false, cores: 64 })).toEqual({ count: 8, reason: 'one per core, at most 8 (WEB_CONCURRENCY to run more)' });
    expect(webProcessPlan({ REDIS_URL: 'redis://r:6379', WEB_CONCURRENCY: 12 }, { dev: false, cores: 64 })).toEqual({ count: 12, reason: 'WEB_CONCURRENCY' });
    expect(webProcessPlan({ REDIS_URL: 'redis://r:6379', WEB_CONCURRENCY: 3 }, { dev: false, cores: 4 })).toEqual({ count: 3, reason: 'WEB_CONCURRENCY' });
    expect(webProcessPlan({}, { dev: false, cores: 4 })).toMatchObject({ count: 1, reason: expect.stringMatching(/^no REDIS_URL: /) });
    expect(webProcessPlan({ WEB_CONCURRENCY: 1 }, { dev: false, cores: 4 })).toMatchObject({ count: 1 });
    expect(webProcessPlan({ WEB_CONCURRENCY: 2 }, { dev: false, cores: 4 })).toEqual({ error: expect.stringMatching(/^WEB_CONCURRENCY=2 needs REDIS_URL: /) });
    // Next's development server compiles on demand, per process: one.
    expect(webProcessPlan({ REDIS_URL: 'redis://r:6379', WEB_CONCURRENCY: 3 }, { dev: true, cores: 4 })).toEqual({ count: 1, reason: 'development mode' });
  });

  it('WEB_CONCURRENCY is a whole number from 1', () => {
    expect(() => loadEnv({ WEB_CONCURRENCY: '0' })).toThrow(/WEB_CONCURRENCY: must be between 1 and 256/);
    expect(loadEnv({ WEB_CONCURRENCY: '2' }).WEB_CONCURRENCY).toBe(2);
  });
});
