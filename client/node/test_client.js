// Tests of the Node.js examples against a live cluster:
//
//   build/default/tests/integration/sluice-with-cluster -- node client/node/test_client.js
//
// (run_test.sh installs the npm packages first). Needs SLUICE_ADDRESSES.
// With --secure (SLUICE_TLS_CA, SLUICE_TLS_CERT, SLUICE_TLS_KEY and
// SLUICE_TOKEN set) every test runs over TLS with credentials, and the
// "secure:" tests check authentication too.
// Every wait polls with a deadline; the whole file is bounded by the test
// timeouts below.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const crypto = require('node:crypto');
const { execFile } = require('node:child_process');
const { promisify } = require('node:util');
const {
  SluiceClient, SluiceError, Status, sleep, duration, xxh64, partitionFor,
  securityFromEnv,
} = require('./sluice');
const { Producer } = require('./producer');
const { StreamConsumer } = require('./consumer');

const ADDRESSES = process.env.SLUICE_ADDRESSES || '';
// Set by sluice-with-cluster --secure: the cluster wants TLS and credentials.
const SECURE = Boolean(process.env.SLUICE_TLS_CA);
const DEAD_ADDRESS = '127.0.0.1:1';  // nothing listens there
// Partitions of the queues the consumers read: several by default, so that
// streams poll across partitions and FIFO groups spread over them;
// SLUICE_TEST_PARTITIONS=1 tests the one-partition path.
const PARTITIONS = Number(process.env.SLUICE_TEST_PARTITIONS || 3);
const execFileP = promisify(execFile);

const unique = (name) => `${name}-${crypto.randomUUID().slice(0, 8)}`;

async function waitUntil(predicate, seconds, what) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds}s waiting for ${what}`);
    await sleep(0.1);
  }
}

let client;
test.before(() => {
  assert.ok(ADDRESSES, 'SLUICE_ADDRESSES is not set; run under sluice-with-cluster');
  client = SluiceClient.fromEnv(ADDRESSES);
});
test.after(() => client.close());

async function stored(queue) {
  const { counts } = await client.call('GetQueueStats', { queue_name: queue });
  return Number(counts.visible_count) + Number(counts.in_flight_count) +
    Number(counts.delayed_count);
}

test('XXH64 matches the reference values', () => {
  assert.equal(xxh64(''), 0xEF46DB3751D8E999n);
  assert.equal(xxh64('abc'), 0x44BC2CF5AD770999n);
  assert.equal(xxh64('Nobody inspects the spammish repetition'), 0xFBCEA83C8A378BF1n);
});

test('FIFO: the CLI programs deliver 300 messages once, in group order',
  { timeout: 90000 }, async () => {
    const queue = `${unique('js-cli')}.fifo`;
    const count = 300;
    const groups = 7;
    const env = { ...process.env, SLUICE_ADDRESSES: ADDRESSES };
    await execFileP(process.execPath, [path.join(__dirname, 'producer.js'),
      '--queue', queue, '--count', String(count), '--groups', String(groups),
      '--partitions', String(PARTITIONS), '--batch', '40'], { env, timeout: 60000 });
    const { stdout, stderr } = await execFileP(process.execPath, [
      path.join(__dirname, 'consumer.js'), '--queue', queue, '--max', String(count),
      '--idle-exit', '20', '--prefetch', '20'], { env, timeout: 90000 });
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, count, stderr);
    assert.equal(new Set(lines.map((m) => m.body)).size, count, 'a message came twice');
    // Each was received once: receive_count is exact (leases are in the
    // partition's log), and no lease was lost.
    assert.deepEqual(lines.filter((m) => m.receive_count !== 1), []);
    const perGroup = new Map();
    for (const m of lines) {  // stdout is in handling order
      const [, group, index] = m.body.split(' ');
      assert.equal(group, m.group_id);
      if (!perGroup.has(group)) perGroup.set(group, []);
      perGroup.get(group).push(Number(index));
    }
    assert.equal(perGroup.size, groups);
    for (const [group, indexes] of perGroup) {
      assert.deepEqual(indexes, [...indexes].sort((a, b) => a - b), `${group} out of order`);
    }
    assert.deepEqual(new Set(lines.map((m) => m.partition)),
      new Set([...Array(PARTITIONS).keys()]));
    await waitUntil(async () => (await stored(queue)) === 0, 20, 'every message deleted');
  });

test('an idempotent producer retry is not enqueued twice', { timeout: 30000 }, async () => {
  const queue = unique('js-idem');
  await client.createQueue(queue, { partition_count: 2 });
  const request = { queue_name: queue, producer_id: `p-${queue}`,
    entries: [0, 1, 2, 3, 4].map((i) => ({ entry_id: `e${i}`, body: Buffer.from(`m${i}`),
      partition: 0 })),
    producer_sequences: [{ partition: 0, first_sequence: '1' }] };
  const first = await client.call('Send', request);
  const again = await client.call('Send', request);  // as a retry sends it
  assert.ok(first.results.every((r) => r.status.code === 0 && !r.duplicate));
  assert.ok(again.results.every((r) => r.duplicate));
  assert.deepEqual(first.results.map((r) => r.message_id), again.results.map((r) => r.message_id));
  assert.ok(first.results.every((r) => r.partition === 0));
  // The Producer class numbers per partition by itself.
  const producer = await Producer.create(client, queue, { batchSize: 7 });
  const results = await producer.send([...Array(40).keys()].map((i) => ({ body: `x${i}` })));
  assert.equal(new Set(results.map((r) => r.message_id)).size, 40);
  assert.deepEqual([...producer.nextSequence].sort(), [[0, 21], [1, 21]]);
  await waitUntil(async () => (await stored(queue)) === 45, 10, '45 messages stored');
});

for (const type of ['FIFO', 'standard']) {
  test(`${type}: dedup ids drop resends`, { timeout: 30000 }, async () => {
    const fifo = type === 'FIFO';
    const queue = fifo ? `${unique('js-dedup')}.fifo` : unique('js-dedup-std');
    await client.createQueue(queue, { partition_count: PARTITIONS });
    const producer = await Producer.create(client, queue, { mode: 'dedup' });
    const messages = [...Array(30).keys()].map((i) =>
      ({ body: `f${i}`, group_id: fifo ? `g${i % 3}` : '', dedup_id: `d${i}` }));
    const sent = await producer.send(messages);
    const resent = await producer.send(messages);
    assert.ok(sent.every((r) => !r.duplicate));
    assert.ok(resent.every((r) => r.duplicate));
    assert.deepEqual(sent.map((r) => r.message_id), resent.map((r) => r.message_id));
    if (!fifo) {  // a standard queue routes by the dedup id
      assert.deepEqual(sent.map((r) => r.partition),
        messages.map((m) => partitionFor(m.dedup_id, PARTITIONS)));
    }
    await waitUntil(async () => (await stored(queue)) === 30, 10, '30 messages stored');
  });
}

test('standard queue through a dead node: producer retries, consumer reconnects',
  { timeout: 60000 }, async () => {
    const queue = unique('js-std');
    await client.createQueue(queue, { partition_count: PARTITIONS });
    const c = SluiceClient.fromEnv([DEAD_ADDRESS, ...ADDRESSES.split(',')]);
    try {
      c.preferred = DEAD_ADDRESS;
      const producer = await Producer.create(c, queue);
      await producer.send([...Array(200).keys()].map((i) => ({ body: `s${i}` })));
      c.preferred = DEAD_ADDRESS;
      const seen = [];
      const consumer = new StreamConsumer(c, queue, async (m) => { seen.push(m); },
        { prefetch: 50, maxMessages: 200 });
      const stats = await consumer.run();
      assert.ok(stats.reconnects >= 1, JSON.stringify(stats));
      assert.deepEqual(seen.map((m) => m.body.toString()).sort(),
        [...Array(200).keys()].map((i) => `s${i}`).sort());
      assert.deepEqual(seen.filter((m) => m.receive_count !== 1)
        .map((m) => [m.partition, m.sequence_number, m.receive_count]), []);
      assert.equal(stats.failed_items, 0);
    } finally {
      c.close();
    }
    await waitUntil(async () => (await stored(queue)) === 0, 20, 'every message deleted');
  });

// One message whose handler takes 2.5 visibility timeouts. The consumer has
// spare credit: a lapsed lease would bring the message back to it at once.
async function slowHandlerRun(extend) {
  const queue = unique('js-lease');
  await client.createQueue(queue, { visibility_timeout: 2 });
  await (await Producer.create(client, queue)).send([{ body: 'slow' }]);
  const calls = [];
  const consumer = new StreamConsumer(client, queue, async (m) => {
    calls.push(m.receive_count);
    if (m.receive_count === 1) await sleep(5);
  }, { prefetch: 4, extend });
  const running = consumer.run();
  await waitUntil(() => calls.length >= (extend ? 1 : 2), 40, 'handler calls');
  await waitUntil(async () => (await stored(queue)) === 0, 20, 'the message deleted');
  consumer.stop();
  return { calls, stats: await running };
}

test('a long handler keeps its lease by extension', { timeout: 60000 }, async () => {
  const { calls, stats } = await slowHandlerRun(true);
  assert.deepEqual(calls, [1], 'the message was delivered again');
  assert.ok(stats.extended >= 2, JSON.stringify(stats));
  assert.equal(stats.failed_items, 0);
});

test('control: without extension the lease runs out', { timeout: 60000 }, async () => {
  const { calls, stats } = await slowHandlerRun(false);
  assert.deepEqual([...calls].sort(), [1, 2]);
  assert.equal(stats.extended, 0);
});

test('a failing handler nacks until the message is dead-lettered', { timeout: 60000 }, async () => {
  const dlq = unique('js-dlq');
  const queue = unique('js-src');
  await client.createQueue(dlq);
  await client.createQueue(queue, { redrive_policy:
    { dead_letter_queue_name: dlq, max_receive_count: 3 } });
  await (await Producer.create(client, queue)).send(
    [...[0, 1, 2, 3, 4].map((i) => ({ body: `ok-${i}` })), { body: 'poison' }]);
  const handled = [];
  const poison = [];
  const consumer = new StreamConsumer(client, queue, async (m) => {
    if (m.body.toString() === 'poison') {
      poison.push(m.receive_count);
      throw new Error('cannot handle this one');
    }
    handled.push(m.body.toString());
  }, { prefetch: 8, nackDelay: 0 });
  const running = consumer.run();
  let moved;
  try {
    moved = await waitUntil(async () => {
      const r = await client.call('Receive', { queue_name: dlq, max_messages: 10,
        wait_time: duration(1) });
      return r.messages.length ? r.messages : null;
    }, 40, 'the message in the DLQ');
  } finally {
    consumer.stop();
  }
  const stats = await running;
  assert.equal(moved.length, 1);
  const [m] = moved;
  assert.equal(m.body.toString(), 'poison');
  assert.equal(m.dead_letter_source.source_queue_name, queue);
  assert.equal(m.dead_letter_source.source_receive_count, 3);
  assert.equal(m.dead_letter_source.reason, 'DEAD_LETTER_REASON_MAX_RECEIVE_COUNT');
  assert.deepEqual(poison, [1, 2, 3]);
  assert.deepEqual(handled.sort(), ['ok-0', 'ok-1', 'ok-2', 'ok-3', 'ok-4']);
  assert.equal(stats.nacked, 3);
  assert.equal(stats.failed_items, 0);
  await client.call('Delete', { queue_name: dlq,
    entries: [{ entry_id: 'e0', receipt_handle: m.receipt_handle }] });
  await waitUntil(async () => (await stored(queue)) === 0, 10, 'source queue empty');
  await waitUntil(async () => (await stored(dlq)) === 0, 10, 'DLQ empty');
});

test('errors carry code and reason and are not retried', { timeout: 30000 }, async () => {
  await assert.rejects(client.call('GetQueue', { queue_name: unique('js-missing') }),
    (e) => e instanceof SluiceError && e.reason === 'QUEUE_NOT_FOUND');
  const queue = unique('js-attrs');
  await client.createQueue(queue, { visibility_timeout: 5 });
  await client.createQueue(queue, { visibility_timeout: 5 });  // idempotent
  await assert.rejects(client.createQueue(queue, { visibility_timeout: 6 }),
    (e) => e.reason === 'QUEUE_EXISTS_WITH_DIFFERENT_ATTRIBUTES');
});

// Settings that would send credentials in the clear, or cannot work, are
// refused before anything is sent (no cluster needed).
test('security settings: credentials need TLS, certificate and key go together', () => {
  for (const options of [{ token: 't' }, { tlsCert: 'c.pem', tlsKey: 'c.key' },
    { tlsCert: 'c.pem', tlsKey: 'c.key', token: 't' }]) {
    assert.throws(() => new SluiceClient(DEAD_ADDRESS, options), /SLUICE_TLS_CA/);
  }
  for (const options of [{ tlsCert: 'c.pem' }, { tlsKey: 'c.key' }]) {
    assert.throws(() => new SluiceClient(DEAD_ADDRESS, { tlsCa: 'ca.pem', ...options }),
      /set both/);
  }
  assert.throws(() => new SluiceClient(DEAD_ADDRESS, { tlsCa: '/no-such-ca.pem' }),
    /tlsCa .*no-such-ca\.pem/);
  assert.deepEqual(securityFromEnv({ SLUICE_TLS_CA: 'ca.pem', SLUICE_TLS_CERT: '',
    SLUICE_TOKEN: ' secret\n' }), { tlsCa: 'ca.pem', token: 'secret' });
});

// Against sluice-with-cluster --secure: a client needs a token or a client
// certificate (the environment has both; each is tried alone).
const skipUnlessSecure = SECURE ? false
  : 'plaintext cluster (run under sluice-with-cluster --secure)';

function secureClient(credentials) {
  return new SluiceClient(ADDRESSES,
    { retryFor: 20, tlsCa: process.env.SLUICE_TLS_CA, ...credentials });
}

test('secure: without valid credentials calls are UNAUTHENTICATED',
  { skip: skipUnlessSecure, timeout: 30000 }, async () => {
    for (const credentials of [{}, { token: 'not-it' }]) {
      const c = secureClient(credentials);
      try {
        await assert.rejects(c.call('ListQueues', {}),
          (e) => e instanceof SluiceError && e.code === Status.UNAUTHENTICATED);
      } finally {
        c.close();
      }
    }
  });

// Send, Receive, Delete; then the same over StreamReceive, which must carry
// the credentials as well.
async function secureRoundTrip(credentials) {
  const c = secureClient(credentials);
  try {
    const queue = unique('js-secure');
    await c.createQueue(queue);
    await (await Producer.create(c, queue)).send([{ body: 'unary' }]);
    const received = await waitUntil(async () => {
      const r = await c.call('Receive', { queue_name: queue, max_messages: 1,
        wait_time: duration(1) });
      return r.messages.length ? r.messages : null;
    }, 10, 'the message received');
    assert.deepEqual(received.map((m) => m.body.toString()), ['unary']);
    const deleted = await c.call('Delete', { queue_name: queue,
      entries: [{ entry_id: 'e0', receipt_handle: received[0].receipt_handle }] });
    assert.equal(deleted.results[0].status.code, 0);
    await (await Producer.create(c, queue)).send([{ body: 'streamed' }]);
    const seen = [];
    const stats = await new StreamConsumer(c, queue, async (m) => { seen.push(m); },
      { maxMessages: 1, idleExit: 20 }).run();
    assert.deepEqual(seen.map((m) => m.body.toString()), ['streamed']);
    assert.equal(stats.failed_items, 0);
    await waitUntil(async () => {
      const { counts } = await c.call('GetQueueStats', { queue_name: queue });
      return Number(counts.visible_count) + Number(counts.in_flight_count) === 0;
    }, 10, 'both messages deleted');
  } finally {
    c.close();
  }
}

test('secure: a token alone authenticates, streams included',
  { skip: skipUnlessSecure, timeout: 60000 },
  () => secureRoundTrip({ token: process.env.SLUICE_TOKEN }));

test('secure: a client certificate alone authenticates, streams included',
  { skip: skipUnlessSecure, timeout: 60000 },
  () => secureRoundTrip({ tlsCert: process.env.SLUICE_TLS_CERT,
    tlsKey: process.env.SLUICE_TLS_KEY }));
