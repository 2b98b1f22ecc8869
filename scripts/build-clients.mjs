#!/usr/bin/env node
// npm run build:clients: the one-file programs for employees' machines, under dist/.
import { buildClient, CLIENTS } from './lib/bundle.mjs';

for (const name of Object.keys(CLIENTS)) console.log(`built ${await buildClient(name)}`);
