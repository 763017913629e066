#!/usr/bin/env node
// The `brook` bin: Brook's packages ship TypeScript sources (no build step), so the command
// registers tsx's loader and then runs the CLI's entry point.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
