/** Every `brook` command, in the order `brook --help` lists them. */
import type { Command } from '../cli-args.js';
import { benchCommand } from './bench.js';
import { consumeCommand } from './consume.js';
import { demoCommand } from './demo.js';
import { dlqCommand } from './dlq.js';
import { dumpCommand } from './dump.js';
import { groupsCommand } from './groups.js';
import { produceCommand } from './produce.js';
import { serveCommand } from './serve.js';
import { topicsCommand } from './topics.js';
import { verifyCommand } from './verify.js';

export const COMMANDS: readonly Command[] = [serveCommand, topicsCommand, produceCommand, consumeCommand, groupsCommand, dlqCommand, dumpCommand, verifyCommand, demoCommand, benchCommand];
