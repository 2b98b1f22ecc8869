#!/usr/bin/env node
// The `gatehouse-helper` bin in a checkout: runs the one-file build (dist/gatehouse-helper.cjs),
// rebuilding it first when its sources changed. Laptops get that file alone from the Rollout page.
import { pathToFileURL } from 'node:url';
import { ensureClient } from '../scripts/lib/bundle.mjs';

await import(pathToFileURL(await ensureClient('gatehouse-helper')).href);
