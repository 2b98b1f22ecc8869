#!/usr/bin/env node
// The `gatehouse-sync` bin in a checkout: runs the one-file build (dist/gatehouse-sync.cjs),
// rebuilding it first when its sources changed. Laptops get that file alone (npm run build:clients).
import { pathToFileURL } from 'node:url';
import { ensureClient } from '../scripts/lib/bundle.mjs';

await import(pathToFileURL(await ensureClient('gatehouse-sync')).href);
