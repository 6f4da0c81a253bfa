#!/usr/bin/env node
// Regenerates schema/schema.graphql from the code (the built server): `npm run schema`.
// A test fails when the checked-in file differs from what the code prints.
import 'reflect-metadata';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { buildPlansyncSchema, printPlansyncSchema } = await import(path.join(root, 'server/dist/server/src/schema.js'));
const { createPlansyncBus } = await import(path.join(root, 'server/dist/server/src/events.js'));
const sdl = printPlansyncSchema(await buildPlansyncSchema(createPlansyncBus()));
await fs.mkdir(path.join(root, 'schema'), { recursive: true });
await fs.writeFile(path.join(root, 'schema/schema.graphql'), sdl);
console.log(`wrote schema/schema.graphql (${sdl.split('\n').length} lines)`);
