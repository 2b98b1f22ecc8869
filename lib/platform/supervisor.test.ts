import { describe, expect, it } from 'vitest';
import { publicUrl } from './public-url';
import { childEnvironment } from './supervisor';

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
