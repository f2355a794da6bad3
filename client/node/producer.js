#!/usr/bin/env node
// Sluice producer example: creates a queue if needed and sends messages.
//
//   node producer.js --queue jobs --count 1000
//   node producer.js --queue orders --fifo --groups 8 --count 1000
//   node producer.js --queue jobs --mode dedup --count 100
//
// A cluster with TLS and authentication takes $SLUICE_TLS_CA plus
// $SLUICE_TOKEN or a client certificate ($SLUICE_TLS_CERT, $SLUICE_TLS_KEY),
// as `sluice` does (SluiceClient.fromEnv).
//
// Sends are exactly-once across retries, in one of two ways:
// - --mode idempotent (default): an idempotent producer (SendRequest.
//   producer_id). It picks a random id once and numbers the entries it sends
//   to each partition 1, 2, 3, ...; a retry after an unknown outcome (timeout,
//   node down, leader change) carries the same numbers, so the partition
//   recognises what it already applied. Every entry names its partition:
//   FIFO by hashing the group id (XXH64, see sluice.js), standard round robin.
//   One request per partition is outstanding at a time.
// - --mode dedup: every message carries a dedup id ("<run id>-<index>"); the
//   queue drops a second send of an id within its dedup window. FIFO queues
//   require dedup ids anyway (unless content_based_dedup), so on a FIFO queue
//   the idempotent mode sets them too.
// Each request goes to its partition's leader (GetQueue routes, `sluice-leader`
// hints); retryable failures are retried with backoff (SluiceClient.call).
'use strict';

const crypto = require('node:crypto');
const { parseArgs } = require('node:util');
const {
  SluiceClient, SluiceError, RETRYABLE, backoffDelay, sleep, partitionFor,
  defaultAddresses, durationSeconds, runMain,
} = require('./sluice');

const MAX_BATCH = 100;  // entries per Send (the server's limit)

class Producer {
  // Use Producer.create(): it reads the queue first.
  constructor(client, queue, { mode = 'idempotent', batchSize = 50 } = {}) {
    if (!['idempotent', 'dedup'].includes(mode)) throw new Error(`mode ${mode}`);
    this.client = client;
    this.queueName = queue.queue_name;
    this.mode = mode;
    this.batchSize = Math.min(MAX_BATCH, batchSize);
    this.fifo = queue.type === 'QUEUE_TYPE_FIFO';
    this.partitions = queue.attributes.partition_count;
    // Idempotent producer state: a fresh id per instance, the next sequence
    // number per partition.
    this.producerId = crypto.randomUUID().replace(/-/g, '');
    this.nextSequence = new Map();
    this.roundRobin = 0;
    this.runId = crypto.randomUUID().slice(0, 12);  // prefix of dedup ids
    this.sent = 0;
    this.duplicates = 0;
    this.retries = 0;
  }

  static async create(client, queueName, options) {
    return new Producer(client, await client.getQueue(queueName), options);
  }

  // FIFO: the group's partition (the server refuses any other one,
  // WRONG_PARTITION). Standard: the dedup id's partition, else round robin.
  partitionOf(entry) {
    if (this.fifo) return partitionFor(entry.group_id, this.partitions);
    if (entry.dedup_id) return partitionFor(entry.dedup_id, this.partitions);
    this.roundRobin = (this.roundRobin + 1) % this.partitions;
    return this.roundRobin;
  }

  // messages: [{body, group_id?, dedup_id?, attributes?}]. Resolves with
  // their SendResults in order; rejects with SluiceError for an entry that
  // fails for good.
  async send(messages) {
    const entries = messages.map((m, i) => {
      let dedup = m.dedup_id || '';
      if ((this.mode === 'dedup' || this.fifo) && !dedup) {
        dedup = `${this.runId}-${this.sent + i}`;
      }
      return { body: Buffer.from(m.body), group_id: m.group_id || '',
        dedup_id: dedup, attributes: m.attributes || {} };
    });
    const byPartition = new Map();  // keeps each partition's send order
    entries.forEach((entry, index) => {
      const p = this.partitionOf(entry);
      if (!byPartition.has(p)) byPartition.set(p, []);
      byPartition.get(p).push({ index, entry });
    });
    const results = new Array(entries.length);
    // Partitions are independent: send to all of them at once, each
    // partition's chunks one after another.
    await Promise.all([...byPartition].map(async ([partition, items]) => {
      for (let i = 0; i < items.length; i += this.batchSize) {
        const chunk = items.slice(i, i + this.batchSize);
        let chunkResults;
        try {
          chunkResults = await this.sendChunk(partition, chunk);
        } catch (error) {
          if (this.mode === 'idempotent') {
            // Gave up, outcome possibly unknown: those numbers may be
            // applied, so they can never stand for other messages. Start
            // over as a new producer.
            this.producerId = crypto.randomUUID().replace(/-/g, '');
            this.nextSequence.clear();
          }
          throw error;
        }
        chunk.forEach(({ index }, k) => { results[index] = chunkResults[k]; });
      }
    }));
    this.sent += entries.length;
    this.duplicates += results.filter((r) => r.duplicate).length;
    return results;
  }

  async sendChunk(partition, chunk) {
    const request = {
      queue_name: this.queueName,
      entries: chunk.map(({ entry }, k) => ({ ...entry, entry_id: `e${k}`, partition })),
    };
    if (this.mode === 'idempotent') {
      request.producer_id = this.producerId;
      request.producer_sequences = [{ partition,
        first_sequence: String(this.nextSequence.get(partition) || 1) }];
    }
    // Retry until every entry succeeded. Idempotent: resend the very same
    // request (a partition's entries are applied all or none; an applied
    // retry answers duplicate = true). Dedup: resend the failed entries.
    const deadline = Date.now() + this.client.retryFor * 1000;
    const done = new Map();
    for (let attempt = 0; ; attempt++) {
      const response = await this.client.call('Send', request,
        { route: [this.queueName, partition] });
      const retry = [];
      response.results.forEach((result, k) => {
        const index = Number(result.entry_id.slice(1));
        if (result.status.code === 0) {
          done.set(index, result);
        } else if (RETRYABLE.has(result.status.code) && Date.now() < deadline) {
          retry.push({ entry: request.entries[k], status: result.status });
        } else {
          throw SluiceError.fromEntryStatus(result.status);
        }
      });
      if (retry.length === 0) break;
      this.retries++;
      const { status } = retry[0];
      if (status.leader_address) {
        this.client.setLeader(this.queueName, partition, status.leader_address);
      }
      const retryAfterMs = status.retry_after
        ? durationSeconds(status.retry_after) * 1000 : undefined;
      await sleep(backoffDelay(attempt, retryAfterMs));
      if (this.mode === 'dedup') request.entries = retry.map((r) => r.entry);
    }
    if (this.mode === 'idempotent') {
      this.nextSequence.set(partition,
        (this.nextSequence.get(partition) || 1) + chunk.length);
    }
    return chunk.map((_, k) => done.get(k));
  }
}

async function main(argv) {
  const { values: args } = parseArgs({ args: argv, options: {
    addresses: { type: 'string', default: defaultAddresses() },
    queue: { type: 'string' },
    fifo: { type: 'boolean', default: false },
    groups: { type: 'string', default: '0' },
    partitions: { type: 'string', default: '0' },
    count: { type: 'string', default: '10' },
    batch: { type: 'string', default: '50' },
    mode: { type: 'string', default: 'idempotent' },
    prefix: { type: 'string', default: 'message' },
  } });
  if (!args.queue) {
    console.error('usage: producer.js --queue NAME [--fifo] [--groups N] ' +
      '[--partitions N] [--count N] [--batch N] [--mode idempotent|dedup] ' +
      '[--addresses host:port,...]');
    return 2;
  }
  let queue = args.queue;
  if (args.fifo && !queue.endsWith('.fifo')) queue += '.fifo';
  const fifo = queue.endsWith('.fifo');
  const groups = Number(args.groups) || (fifo ? 4 : 0);
  const count = Number(args.count);

  let client;
  try {
    client = SluiceClient.fromEnv(args.addresses);
  } catch (error) {  // no addresses, or bad TLS settings
    console.error(`producer: ${error.message}`);
    return 2;
  }
  try {
    const attributes = {};
    if (Number(args.partitions)) attributes.partition_count = Number(args.partitions);
    await client.createQueue(queue, attributes);
    const producer = await Producer.create(client, queue,
      { mode: args.mode, batchSize: Number(args.batch) });
    const started = Date.now();
    for (let first = 0; first < count; first += MAX_BATCH) {
      const batch = [];
      for (let i = first; i < Math.min(count, first + MAX_BATCH); i++) {
        const group = groups ? `g${i % groups}` : '';
        batch.push({ body: `${args.prefix} ${group || '-'} ${i}`, group_id: group });
      }
      await producer.send(batch);
    }
    console.error(`producer: sent ${producer.sent} messages to ${queue} ` +
      `(${producer.duplicates} duplicates, ${producer.retries} retries) in ` +
      `${((Date.now() - started) / 1000).toFixed(2)}s`);
    return 0;
  } finally {
    client.close();
  }
}

module.exports = { Producer };
runMain(module, 'producer', main);
