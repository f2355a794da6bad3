#!/usr/bin/env node
// Sluice streaming consumer example (Queues.StreamReceive).
//
//   node consumer.js --queue jobs                      # until Ctrl-C
//   node consumer.js --queue orders.fifo --max 1000    # stops after 1000
//   node consumer.js --queue jobs --idle-exit 5        # stops when idle 5 s
//
// A cluster with TLS and authentication takes $SLUICE_TLS_CA plus
// $SLUICE_TOKEN or a client certificate ($SLUICE_TLS_CERT, $SLUICE_TLS_KEY),
// as `sluice` does (SluiceClient.fromEnv).
//
// Prints one JSON line per message. What the stream protocol asks of a
// client, and where this file does it:
// - Flow control: nothing is delivered without credit. `start` grants
//   `prefetch` messages; as handlers finish, more credit is granted, so at
//   most `prefetch` messages are with this consumer (grantCredits). In Node
//   that is also the number of handlers running at once.
// - Each delivered message is leased. A handler that resolves acks it (`ack`
//   item, = Delete); one that throws nacks it (`nack`: visible again after
//   --nack-delay or the queue's retry_policy). After max_receive_count
//   receives, a queue with a redrive_policy moves it to its dead-letter queue.
// - FIFO queues may deliver several messages of one group at once (in order;
//   the group stays locked while any is leased): they are handled one after
//   another, never concurrently (startWork). If one fails, the later ones of
//   its group are released with it so that the order holds on redelivery.
// - A long-running handler keeps its lease: a timer sends `extend_lease`
//   items before leases run out (keepLeases).
// - The server may end the stream at any time (leader change: UNAVAILABLE
//   with a `sluice-leader` hint; shutdown). Leases stay valid: the consumer
//   reconnects (hinted node, else another) with backoff and finishes acks
//   that were in flight with the unary Delete, which is idempotent.
// - The server sends heartbeats on a silent stream; after 3 silent intervals
//   the consumer gives up on the stream and reconnects.
'use strict';

const { parseArgs } = require('node:util');
const {
  SluiceClient, SluiceError, Status, RETRYABLE, backoffDelay, sleep, duration,
  durationSeconds, defaultAddresses, metadataObject, runMain,
} = require('./sluice');

class StreamConsumer {
  // handler: async (message) => {}; resolve to ack, throw to nack.
  // prefetch: most messages delivered and not yet finished.
  // visibilityTimeout: lease seconds (default: the queue's).
  // extend: keep leases of running handlers alive.
  // nackDelay: seconds before a nacked message is visible again (default:
  //   the queue's retry_policy, else at once).
  // maxMessages: stop after this many deliveries (acked or nacked).
  // idleExit: stop after this many seconds without messages.
  constructor(client, queueName, handler, {
    prefetch = 16, visibilityTimeout, extend = true, nackDelay, maxMessages,
    idleExit, clientId = 'node-consumer',
  } = {}) {
    Object.assign(this, { client, queueName, handler, prefetch,
      visibilityTimeout, extend, nackDelay, maxMessages, idleExit, clientId });
    this.stats = { delivered: 0, acked: 0, nacked: 0, extended: 0,
      failed_items: 0, released: 0, reconnects: 0 };
    this.session = null;
    this.busy = new Map();     // receipt handle -> lease {message, deadline, extending, lost}
    this.fifo = false;         // from StreamStarted.queue_type
    this.groups = new Map();   // FIFO group id -> leases waiting behind the running one
    this.pending = new Map();  // correlation id -> {kind, handles, session, sent}
    this.nextId = 1;
    this.lastActivity = Date.now();
    this.stopRequested = false;
    this.stopping = false;     // draining: no new work
    this.done = false;         // closed on purpose: do not reconnect
    this.wake = null;          // cuts a reconnect backoff short
  }

  // Finish: running handlers complete and are acked, then run() resolves.
  stop() {
    this.stopRequested = true;
  }

  async run() {
    const keeper = setInterval(() => this.keepLeases(), 100);
    let address = this.client.preferred;
    let attempt = 0;
    try {
      while (!this.done) {
        const { code, metadata, started } = await this.runSession(address);
        if (this.done) break;
        if (code !== Status.OK && !RETRYABLE.has(code)) {
          throw new SluiceError(code, metadata.details || '',
            metadata['sluice-error-reason'] || '');
        }
        // Reconnect: to the leader the server named, else elsewhere.
        attempt = started ? 0 : attempt + 1;
        address = metadata['sluice-leader'] || this.client.nextAddress(address);
        this.stats.reconnects++;
        await Promise.race([
          sleep(backoffDelay(attempt, metadata['sluice-retry-after-ms'])),
          new Promise((resolve) => { this.wake = resolve; })]);
      }
      // Let the last unary acks (of a stream that broke) finish.
      while (this.unaryInFlight > 0) await sleep(0.05);
    } finally {
      this.done = true;
      clearInterval(keeper);
    }
    return this.stats;
  }

  // ---- one stream ------------------------------------------------------
  runSession(address) {
    if (this.stopping) {
      this.done = true;
      return { code: Status.OK, metadata: {}, started: false };
    }
    const session = { address, open: true, started: false, visibility: null,
      heartbeat: 5, lastHeard: Date.now(), credit: 0 };
    const call = this.client.stub(address).StreamReceive();
    session.call = call;
    session.credit = this.creditWanted(session);
    this.session = session;
    const start = { queue_name: this.queueName, client_id: this.clientId,
      initial_credits: { messages: session.credit } };
    if (this.visibilityTimeout !== undefined) {
      start.visibility_timeout = duration(this.visibilityTimeout);
    }
    call.write({ start });
    return new Promise((resolve) => {
      call.on('data', (response) => {
        session.lastHeard = Date.now();
        switch (response.item) {
          case 'started': {
            const s = response.started;
            session.visibility = durationSeconds(s.visibility_timeout);
            session.heartbeat = Math.max(1, durationSeconds(s.heartbeat_interval));
            session.started = true;
            this.fifo = s.queue_type === 'QUEUE_TYPE_FIFO';
            break;
          }
          case 'messages':
            for (const m of response.messages.messages) this.deliver(session, m);
            break;
          case 'results':
            for (const r of response.results.results) this.onResult(r);
            break;
          case 'heartbeat':
            for (const h of response.heartbeat.expired_receipt_handles) {
              console.warn(`consumer: lease ran out: ${h}`);
            }
            break;
          default:
        }
      });
      call.on('error', () => {});  // the 'status' event below reports it
      call.on('status', (status) => {
        const metadata = metadataObject(status.metadata);
        metadata.details = status.details;
        this.sessionEnded(session);
        resolve({ code: status.code, metadata, started: session.started });
      });
    });
  }

  // Items whose results will never come: finish acks and nacks with the
  // unary calls (Delete is idempotent). Extends are simply tried again.
  sessionEnded(session) {
    this.closeSend(session);
    if (this.session === session) this.session = null;
    for (const [id, p] of this.pending) {
      if (p.session !== session) continue;
      this.pending.delete(id);
      if (p.kind === 'extend') {
        for (const h of p.handles) {
          if (this.busy.has(h)) this.busy.get(h).extending = false;
        }
      } else {
        this.unary(p.kind, p.handles, p.delay);
      }
    }
  }

  closeSend(session) {
    if (session.open) {
      session.open = false;
      session.call.end();  // half-close: the server then ends the stream
    }
  }

  // ---- deliveries --------------------------------------------------------
  deliver(session, message) {
    session.credit = Math.max(0, session.credit - 1);
    this.lastActivity = Date.now();
    if (this.stopping) {  // arrived while shutting down: give it back
      this.stats.released++;
      this.settle('nack', [message.receipt_handle], 0);
      return;
    }
    this.stats.delivered++;
    const lease = { message, deadline: Date.now() + session.visibility * 1000,
      extending: false, lost: false };
    this.busy.set(message.receipt_handle, lease);
    this.startWork(lease);
  }

  // FIFO: one message per group at a time, in delivery order.
  startWork(lease) {
    const group = lease.message.group_id;
    if (this.fifo && group) {
      if (this.groups.has(group)) {  // a message of the group is running
        this.groups.get(group).push(lease);
        return;
      }
      this.groups.set(group, []);
    }
    this.work(lease);
  }

  async work(lease) {
    let ok = true;
    try {
      await this.handler(lease.message);
    } catch (error) {
      ok = false;
      console.warn(`consumer: handler failed for ${lease.message.message_id}: ` +
        `${error.message}`);
    }
    this.busy.delete(lease.message.receipt_handle);
    this.lastActivity = Date.now();
    this.stats[ok ? 'acked' : 'nacked']++;
    const handles = [lease.message.receipt_handle];
    const group = lease.message.group_id;
    let following = null;
    if (this.fifo && this.groups.has(group)) {
      let waiting = this.groups.get(group);
      if (!ok) {  // release the rest of the group along with it
        for (const later of waiting) {
          this.busy.delete(later.message.receipt_handle);
          handles.push(later.message.receipt_handle);
        }
        this.stats.released += waiting.length;
        waiting = [];
      }
      if (waiting.length) following = waiting.shift();
      else this.groups.delete(group);
    }
    this.settle(ok ? 'ack' : 'nack', handles, ok ? undefined : this.nackDelay);
    if (following) this.work(following);
    this.grantCredits();
  }

  // Credit so that busy + unspent credit = prefetch, within --max.
  creditWanted(session) {
    let want = this.prefetch - this.busy.size - session.credit;
    if (this.maxMessages !== undefined) {
      want = Math.min(want, this.maxMessages - this.stats.delivered - session.credit);
    }
    return Math.max(0, want);
  }

  grantCredits() {
    const session = this.session;
    if (!session || !session.open || this.stopping) return;
    const want = this.creditWanted(session);
    // In batches of a quarter window, not one credit per message.
    if (want === 0 || (want < Math.max(1, this.prefetch >> 2) &&
                       session.credit + this.busy.size > 0)) return;
    session.credit += want;
    session.call.write({ credits: { messages: want } });  // id 0: errors only
  }

  // ---- ack / nack / extend ---------------------------------------------
  visibility() {
    return (this.session && this.session.visibility) ||
      this.visibilityTimeout || 30;
  }

  // Sends an ack, nack or extend item, or with no stream open the unary call.
  settle(kind, handles, delay) {
    const session = this.session;
    if (!session || !session.open || !session.started) {
      this.unary(kind, handles, delay);
      return;
    }
    const item = { correlation_id: String(this.nextId++) };
    if (kind === 'ack') {
      item.ack = { receipt_handles: handles };
    } else if (kind === 'nack') {
      item.nack = { receipt_handles: handles };
      if (delay !== undefined) item.nack.redelivery_delay = duration(delay);
    } else {
      item.extend_lease = { receipt_handles: handles,
        visibility_timeout: duration(this.visibility()) };
    }
    // A non-zero correlation id: the server reports every result, so we
    // know when an ack is done.
    this.pending.set(item.correlation_id,
      { kind, handles, delay, session, sent: Date.now() });
    session.call.write(item);
  }

  onResult(result) {
    const p = this.pending.get(result.correlation_id);
    if (!p) {  // correlation id 0: a failed credits item
      if (result.status && result.status.code !== 0) {
        console.warn(`consumer: stream item failed: ${result.status.message}`);
      }
      return;
    }
    this.pending.delete(result.correlation_id);
    for (const r of result.receipt_results) {
      if (r.status && RETRYABLE.has(r.status.code)) {
        // E.g. the partition is changing leader: redo this handle with the
        // unary call (with retries); an extend stays under way until then.
        this.unary(p.kind, [r.receipt_handle], p.delay);
      } else {
        this.onReceiptResult(p.kind, r.receipt_handle, r.status, p.sent);
      }
    }
  }

  onReceiptResult(kind, handle, status, sent) {
    const ok = !status || status.code === 0;
    if (!ok) {
      // RECEIPT_HANDLE_STALE: the message was leased again (our lease ran
      // out): it will be, or was, processed again.
      this.stats.failed_items++;
      console.warn(`consumer: ${kind} failed for ${handle}: ${status.message}`);
    }
    if (kind !== 'extend') return;
    const lease = this.busy.get(handle);
    if (!lease) return;
    lease.extending = false;
    if (ok) {
      this.stats.extended++;
      lease.deadline = sent + this.visibility() * 1000;
    } else {
      lease.lost = true;
    }
  }

  // The unary equivalents of the stream items, with retries.
  async unary(kind, handles, delay) {
    this.unaryInFlight = (this.unaryInFlight || 0) + 1;
    try {
      for (let i = 0; i < handles.length; i += 100) {
        const chunk = handles.slice(i, i + 100);
        const sent = Date.now();
        let response;
        try {
          if (kind === 'ack') {
            response = await this.client.call('Delete', { queue_name: this.queueName,
              entries: chunk.map((h, k) => ({ entry_id: `e${k}`, receipt_handle: h })) });
          } else {
            const seconds = kind === 'nack' ? (delay || 0) : this.visibility();
            response = await this.client.call('ChangeVisibility', {
              queue_name: this.queueName,
              entries: chunk.map((h, k) => ({ entry_id: `e${k}`, receipt_handle: h,
                visibility_timeout: duration(seconds) })) });
          }
        } catch (error) {
          console.warn(`consumer: ${kind} of ${chunk.length} failed: ${error.message}`);
          continue;
        }
        response.results.forEach((r, k) =>
          this.onReceiptResult(kind, chunk[k], r.status, sent));
      }
    } finally {
      this.unaryInFlight--;
    }
  }

  // ---- the keeper timer ------------------------------------------------
  // Extends leases about to run out, watches the stream's liveness, and
  // ends the consumer (stop(), --idle-exit, --max).
  keepLeases() {
    if (this.done) return;
    const now = Date.now();
    const session = this.session;
    if (this.extend) {
      const margin = (this.visibility() / 2) * 1000;
      const due = [];
      for (const [handle, lease] of this.busy) {
        if (!lease.extending && !lease.lost && lease.deadline - now <= margin) {
          lease.extending = true;
          due.push(handle);
        }
      }
      if (due.length) this.settle('extend', due);
    }
    const idle = this.busy.size === 0 && this.idleExit !== undefined &&
      now - this.lastActivity >= this.idleExit * 1000;
    const full = this.maxMessages !== undefined &&
      this.stats.delivered >= this.maxMessages;
    if (!this.stopping && (this.stopRequested || idle || full)) {
      this.stopping = true;
      this.drainStarted = now;
    }
    if (this.stopping) {
      // Close once handlers are done and their acks answered (or after 30 s).
      const settled = this.busy.size === 0 &&
        ![...this.pending.values()].some((p) => p.kind !== 'extend');
      if (settled || now - this.drainStarted > 30000) {
        this.done = true;
        if (session) this.closeSend(session);
        if (this.wake) this.wake();
        return;
      }
    }
    if (session && session.started &&
        now - session.lastHeard > 3 * session.heartbeat * 1000) {
      console.warn('consumer: stream silent; reconnecting');
      session.call.cancel();
    }
  }
}

async function main(argv) {
  const { values: args } = parseArgs({ args: argv, options: {
    addresses: { type: 'string', default: defaultAddresses() },
    queue: { type: 'string' },
    prefetch: { type: 'string', default: '32' },
    visibility: { type: 'string' },
    work: { type: 'string', default: '0' },
    'nack-delay': { type: 'string' },
    max: { type: 'string' },
    'idle-exit': { type: 'string' },
  } });
  if (!args.queue) {
    console.error('usage: consumer.js --queue NAME [--prefetch N] [--visibility S] ' +
      '[--work S] [--nack-delay S] [--max N] [--idle-exit S] [--addresses ...]');
    return 2;
  }
  const num = (v) => (v === undefined ? undefined : Number(v));
  let client;
  try {
    client = SluiceClient.fromEnv(args.addresses);
  } catch (error) {  // no addresses, or bad TLS settings
    console.error(`consumer: ${error.message}`);
    return 2;
  }
  const consumer = new StreamConsumer(client, args.queue, async (message) => {
    await sleep(Number(args.work));  // the real work would go here
    process.stdout.write(JSON.stringify({
      message_id: message.message_id,
      partition: message.partition,
      sequence_number: message.sequence_number,
      group_id: message.group_id,
      receive_count: message.receive_count,
      body: message.body.toString('utf8'),
    }) + '\n');
  }, { prefetch: Number(args.prefetch), visibilityTimeout: num(args.visibility),
    nackDelay: num(args['nack-delay']), maxMessages: num(args.max),
    idleExit: num(args['idle-exit']) });
  process.on('SIGINT', () => consumer.stop());
  process.on('SIGTERM', () => consumer.stop());
  try {
    const stats = await consumer.run();
    console.error('consumer: ' +
      Object.entries(stats).map(([k, v]) => `${k} ${v}`).join(', '));
    return 0;
  } finally {
    client.close();
  }
}

module.exports = { StreamConsumer };
runMain(module, 'consumer', main);
