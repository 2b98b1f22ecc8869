import { describe, expect, it } from 'vitest';
import { EnvError, loadEnv } from './env';

function issuesOf(source: Record<string, string>): string[] {
  try {
    loadEnv(source);
  } catch (error) {
    if (error instanceof EnvError) return error.issues;
    throw error;
  }
  throw new Error('expected loadEnv to reject the environment');
}

describe('loadEnv', () => {
  it('fills in defaults for an empty environment', () => {
    expect(loadEnv({})).toEqual({
      PORT: 3000,
      HOST: '0.0.0.0',
      GATEHOUSE_DATA_DIR: '.data',
      GATEHOUSE_CONFIG: './gatehouse.yaml',
      GATEHOUSE_LOG_LEVEL: 'info',
    });
  });

  it('accepts a complete, valid environment and converts numbers', () => {
    const env = loadEnv({
      DATABASE_URL: 'postgresql://gatehouse:secret@db:5432/gatehouse',
      REDIS_URL: 'rediss://cache:6380',
      PORT: '8080',
      HOST: '127.0.0.1',
      GATEHOUSE_ADMIN_EMAIL: 'admin@example.com',
      GATEHOUSE_ADMIN_PASSWORD: 'correct horse battery',
      GATEHOUSE_SECRET: 'x'.repeat(32),
      GATEHOUSE_PUBLIC_URL: 'https://gatehouse.example.com',
      GATEHOUSE_DB_POOL_SIZE: '20',
      GATEHOUSE_LOG_LEVEL: 'debug',
    });
    expect(env.PORT).toBe(8080);
    expect(env.GATEHOUSE_DB_POOL_SIZE).toBe(20);
    expect(env.REDIS_URL).toBe('rediss://cache:6380');
  });

  it('treats empty values as unset', () => {
    expect(loadEnv({ REDIS_URL: '', PORT: '' }).PORT).toBe(3000);
  });

  it('reports every invalid variable, one clear line each', () => {
    const issues = issuesOf({
      DATABASE_URL: 'mysql://db/gatehouse',
      REDIS_URL: 'not a url',
      PORT: '70000',
      GATEHOUSE_ADMIN_EMAIL: 'admin',
      GATEHOUSE_ADMIN_PASSWORD: 'short',
      GATEHOUSE_SECRET: 'too-short',
      GATEHOUSE_PUBLIC_URL: 'gatehouse.example.com',
      GATEHOUSE_DB_POOL_SIZE: 'many',
      GATEHOUSE_LOG_LEVEL: 'verbose',
    });
    expect(issues).toEqual([
      'DATABASE_URL: must be a URL like postgres://user:password@host:5432/gatehouse',
      'REDIS_URL: must be a URL like redis://host:6379',
      'PORT: must be between 1 and 65535',
      'GATEHOUSE_ADMIN_EMAIL: must be an email address',
      'GATEHOUSE_ADMIN_PASSWORD: must be at least 12 characters',
      'GATEHOUSE_SECRET: must be at least 32 characters (try: openssl rand -base64 32)',
      'GATEHOUSE_PUBLIC_URL: must be a URL like https://gatehouse.example.com',
      'GATEHOUSE_DB_POOL_SIZE: must be a whole number',
      'GATEHOUSE_LOG_LEVEL: must be one of debug, info, warn, error',
    ]);
  });

  it('lists the issues in the error message without echoing secret values', () => {
    const error = (() => {
      try {
        return loadEnv({ GATEHOUSE_ADMIN_PASSWORD: 'hunter2', PORT: '0' });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(EnvError);
    expect((error as EnvError).message).toContain('GATEHOUSE_ADMIN_PASSWORD: must be at least 12 characters');
    expect((error as EnvError).message).toContain('PORT: must be between 1 and 65535');
    expect((error as EnvError).message).not.toContain('hunter2');
  });
});
