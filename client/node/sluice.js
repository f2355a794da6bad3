// Connection handling shared by the Node.js examples (producer.js,
// consumer.js): the API loaded from proto/sluice/v1/*.proto at runtime with
// @grpc/proto-loader, channels to several nodes, retries with backoff, leader
// hints, and the partition routing function.
//
// What a Sluice client has to get right:
// - Any node serves every RPC (it forwards to the partition's leader), so a
//   client knows several addresses. A forwarded answer carries the leader's
//   address in the trailing metadata `sluice-leader`; send the next request
//   for that partition there directly.
// - UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED and RESOURCE_EXHAUSTED are
//   worth retrying, with jittered exponential backoff, on another node (or
//   the hinted leader), not before `sluice-retry-after-ms`. A failed write's
//   outcome is unknown: retry writes only with dedup ids or as an idempotent
//   producer (producer.js). Other codes: do not retry unchanged.
// - A cluster may run with TLS and authentication: the client then trusts
//   the nodes' CA and proves who it is with a bearer token (sent on every
//   call, streams included) or a client certificate. A token or certificate
//   is never sent without TLS.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_ROOT = process.env.SLUICE_PROTO_ROOT ||
  path.resolve(__dirname, '..', '..', 'proto');

// keepCase: field names as in the .proto files (snake_case), so the .proto
// comments apply word for word. 64-bit integers as strings, enums as names,
// `oneofs` adds a virtual field naming the member that is set.
const definition = protoLoader.loadSync(
  ['sluice/v1/queues.proto', 'sluice/v1/cluster.proto'],
  { includeDirs: [PROTO_ROOT], keepCase: true, longs: String, enums: String,
    defaults: true, oneofs: true });
const sluice = grpc.loadPackageDefinition(definition).sluice.v1;

const Status = grpc.status;
const RETRYABLE = new Set([Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED,
  Status.CANCELLED, Status.RESOURCE_EXHAUSTED]);

class SluiceError extends Error {
  constructor(code, message, reason = '', field = '', metadata = {}) {
    const name = Object.keys(Status).find((k) => Status[k] === code) || code;
    super(`${name}${reason ? ' ' + reason : ''}: ${message}`);
    this.code = code;      // grpc.status number
    this.reason = reason;  // e.g. 'RECEIPT_HANDLE_STALE', may be ''
    this.field = field;    // INVALID_ARGUMENT: offending field path
    this.metadata = metadata;
  }

  static fromGrpc(error) {
    const md = metadataObject(error.metadata);
    return new SluiceError(error.code, error.details || error.message,
      md['sluice-error-reason'] || '', md['sluice-error-field'] || '', md);
  }

  static fromEntryStatus(status) {
    return new SluiceError(status.code, status.message,
      String(status.reason || '').replace(/^ERROR_REASON_/, '')
        .replace(/^UNSPECIFIED$/, ''), status.field);
  }
}

function metadataObject(metadata) {
  const out = {};
  if (!metadata) return out;
  for (const [key, values] of Object.entries(metadata.getMap())) {
    out[key] = String(values);
  }
  return out;
}

// A google.protobuf.Duration from (fractional) seconds.
function duration(seconds) {
  const ms = Math.round(seconds * 1000);
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

function durationSeconds(d) {
  return d ? Number(d.seconds) + (d.nanos || 0) / 1e9 : 0;
}

// Exponential backoff with "equal jitter" (half fixed, half random), at least
// the server's retry hint.
function backoffDelay(attempt, retryAfterMs, base = 0.05, cap = 2.0) {
  const ceiling = Math.min(cap, base * 2 ** attempt);
  let delay = ceiling / 2 + Math.random() * (ceiling / 2);
  if (retryAfterMs) delay = Math.max(delay, Number(retryAfterMs) / 1000);
  return delay;
}

const sleep = (seconds) => new Promise((r) => setTimeout(r, seconds * 1000));

// ---------------------------------------------------------------------------
// XXH64, the partition routing function (Queue.partition_routing = XXH64):
// partition = XXH64(UTF-8 key, seed 0) mod partition_count; the key is the
// group id (FIFO) or the dedup id (standard queues).
// ---------------------------------------------------------------------------
const M = (1n << 64n) - 1n;
const P1 = 11400714785074694791n;
const P2 = 14029467366897019727n;
const P3 = 1609587929392839161n;
const P4 = 9650029242287828579n;
const P5 = 2870177450012600261n;
const rotl = (x, r) => ((x << BigInt(r)) | (x >> BigInt(64 - r))) & M;
const round = (acc, lane) => (rotl((acc + lane * P2) & M, 31) * P1) & M;

function xxh64(input, seed = 0n) {
  const data = Buffer.isBuffer(input) ? input : Buffer.from(input, 'utf8');
  const n = data.length;
  let i = 0;
  let acc;
  if (n >= 32) {
    const v = [(seed + P1 + P2) & M, (seed + P2) & M, seed, (seed - P1) & M];
    for (; i + 32 <= n; i += 32) {
      for (let lane = 0; lane < 4; lane++) {
        v[lane] = round(v[lane], data.readBigUInt64LE(i + 8 * lane));
      }
    }
    acc = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M;
    for (const lane of v) acc = ((acc ^ round(0n, lane)) * P1 + P4) & M;
  } else {
    acc = (seed + P5) & M;
  }
  acc = (acc + BigInt(n)) & M;
  for (; i + 8 <= n; i += 8) {
    acc ^= round(0n, data.readBigUInt64LE(i));
    acc = (rotl(acc, 27) * P1 + P4) & M;
  }
  if (i + 4 <= n) {
    acc ^= (BigInt(data.readUInt32LE(i)) * P1) & M;
    acc = (rotl(acc, 23) * P2 + P3) & M;
    i += 4;
  }
  for (; i < n; i++) {
    acc ^= (BigInt(data[i]) * P5) & M;
    acc = (rotl(acc, 11) * P1) & M;
  }
  acc ^= acc >> 33n;
  acc = (acc * P2) & M;
  acc ^= acc >> 29n;
  acc = (acc * P3) & M;
  return acc ^ (acc >> 32n);
}

// The partition a routing key (FIFO group id, standard dedup id) maps to.
function partitionFor(key, partitionCount) {
  return Number(xxh64(key) % BigInt(partitionCount));
}

// ---------------------------------------------------------------------------
// TLS and authentication
// ---------------------------------------------------------------------------
// The options' environment variables, as the C++ library and `sluice` read
// them.
const SECURITY_ENV = {
  tlsCa: 'SLUICE_TLS_CA',
  tlsCert: 'SLUICE_TLS_CERT',
  tlsKey: 'SLUICE_TLS_KEY',
  token: 'SLUICE_TOKEN',
};

// SluiceClient's tlsCa, tlsCert, tlsKey and token options from
// $SLUICE_TLS_CA, $SLUICE_TLS_CERT, $SLUICE_TLS_KEY and $SLUICE_TOKEN (unset
// or empty: left out).
function securityFromEnv(env = process.env) {
  const options = {};
  for (const [option, name] of Object.entries(SECURITY_ENV)) {
    const value = (env[name] || '').trim();
    if (value) options[option] = value;
  }
  return options;
}

function readPem(option, file) {
  let data;
  try {
    data = fs.readFileSync(file);
  } catch (error) {
    throw new Error(`${option} (${SECURITY_ENV[option]}): cannot read ` +
      `'${file}': ${error.code || error.message}`);
  }
  if (data.toString().trim() === '') {
    throw new Error(`${option} (${SECURITY_ENV[option]}): '${file}' is empty`);
  }
  return data;
}

// grpc-js channel credentials for the options: plaintext without tlsCa.
// tlsCa, tlsCert, tlsKey: PEM file paths; token: a bearer token. Throws for
// a token or certificate without a CA (they would travel in the clear), a
// certificate without its key or the other way round, or a file that cannot
// be read.
function channelCredentials({ tlsCa, tlsCert, tlsKey, token } = {}) {
  if (Boolean(tlsCert) !== Boolean(tlsKey)) {
    throw new Error('tlsCert and tlsKey (SLUICE_TLS_CERT, SLUICE_TLS_KEY): ' +
      'set both (a client certificate) or neither');
  }
  if (!tlsCa) {
    if (tlsCert || token) {
      throw new Error('tlsCa (SLUICE_TLS_CA): required with a token or a ' +
        'client certificate (they are sent only over TLS)');
    }
    return grpc.credentials.createInsecure();
  }
  // With an IP address (127.0.0.1:7101) grpc-js passes the IP as the TLS
  // server name, and Node warns once per process (DEP0123; grpc-node issue
  // 1919). Harmless: the certificate is still checked against its IP SANs.
  const tls = grpc.credentials.createSsl(readPem('tlsCa', tlsCa),
    tlsKey ? readPem('tlsKey', tlsKey) : null,
    tlsCert ? readPem('tlsCert', tlsCert) : null);
  if (!token) return tls;
  // Call credentials combined into the channel's: grpc-js asks the generator
  // for metadata on every call, unary and streaming alike.
  const bearer = grpc.credentials.createFromMetadataGenerator((_, callback) => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    callback(null, metadata);
  });
  return grpc.credentials.combineChannelCredentials(tls, bearer);
}

const defaultAddresses = () => process.env.SLUICE_ADDRESSES || '';

// ---------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------
class SluiceClient {
  // addresses: "host:port" strings (or one comma-separated string) of some
  // nodes; any node will do, several so that one being down is no outage.
  // tlsCa: PEM file of the CA the nodes' certificates chain to; turns TLS on
  // (default: plaintext). tlsCert, tlsKey: a client certificate and its key
  // (PEM files), whose common name is the client's principal. token: a
  // bearer token. A token or certificate needs tlsCa (throws otherwise).
  // SluiceClient.fromEnv() takes all of these from the environment.
  constructor(addresses, { callTimeout = 10, retryFor = 60, tlsCa, tlsCert,
    tlsKey, token } = {}) {
    if (typeof addresses === 'string') {
      addresses = addresses.split(',').filter(Boolean);
    }
    if (!addresses || addresses.length === 0) {
      throw new Error('no addresses (set --addresses or SLUICE_ADDRESSES)');
    }
    // Read and checked now, so a bad setting fails here and not as an
    // UNAVAILABLE retried for retryFor seconds.
    this.credentials = channelCredentials({ tlsCa, tlsCert, tlsKey, token });
    this.addresses = [...addresses];
    this.callTimeout = callTimeout;  // seconds per attempt
    this.retryFor = retryFor;        // seconds spent retrying in total
    this.preferred = this.addresses[
      Math.floor(Math.random() * this.addresses.length)];
    this.stubs = new Map();          // address -> {queues, cluster}
    this.leaders = new Map();        // "queue/partition" -> leader address
  }

  // A client configured like the `sluice` CLI: addresses from
  // $SLUICE_ADDRESSES unless given, TLS and credentials from
  // securityFromEnv(). Options win over the environment.
  static fromEnv(addresses = defaultAddresses(), options = {}) {
    return new SluiceClient(addresses, { ...securityFromEnv(), ...options });
  }

  close() {
    for (const { queues, cluster } of this.stubs.values()) {
      queues.close();
      cluster.close();
    }
    this.stubs.clear();
  }

  stub(address, service = 'queues') {
    let s = this.stubs.get(address);
    if (!s) {
      s = { queues: new sluice.Queues(address, this.credentials),
        cluster: new sluice.Cluster(address, this.credentials) };
      this.stubs.set(address, s);
    }
    return s[service];
  }

  nextAddress(failed) {
    const i = this.addresses.indexOf(failed);
    this.preferred = this.addresses[
      i >= 0 ? (i + 1) % this.addresses.length
        : Math.floor(Math.random() * this.addresses.length)];
    return this.preferred;
  }

  leaderOf(queue, partition) {
    return this.leaders.get(`${queue}/${partition}`);
  }

  setLeader(queue, partition, address) {
    if (address) this.leaders.set(`${queue}/${partition}`, address);
    else this.leaders.delete(`${queue}/${partition}`);
  }

  // One attempt: resolves {response, trailers} or rejects with the grpc error
  // (which carries .code and .metadata, the trailing metadata).
  attempt(address, method, request, timeoutSeconds, service) {
    return new Promise((resolve, reject) => {
      const result = { response: null, trailers: {} };
      const deadline = new Date(Date.now() + timeoutSeconds * 1000);
      const call = this.stub(address, service)[method](
        request, { deadline }, (error, response) => {
          if (error) return reject(error);
          result.response = response;
          resolve(result);  // continues after the 'status' event below
        });
      call.on('status', (status) => {
        result.trailers = metadataObject(status.metadata);
      });
    });
  }

  // Calls `method` with retries. route: [queue, partition] the request
  // concerns, if one; it then goes to that partition's leader when known.
  async call(method, request, { route, service = 'queues', retryFor } = {}) {
    const deadline = Date.now() + 1000 * (retryFor ?? this.retryFor);
    let address = (route && this.leaderOf(...route)) || this.preferred;
    for (let attempt = 0; ; attempt++) {
      const timeout = Math.max(0.1, Math.min(this.callTimeout,
        (deadline - Date.now()) / 1000));
      try {
        const { response, trailers } =
          await this.attempt(address, method, request, timeout, service);
        // Set when the node forwarded the request: go direct next time.
        if (route && trailers['sluice-leader']) {
          this.setLeader(...route, trailers['sluice-leader']);
        }
        return response;
      } catch (error) {
        if (error.code === undefined) throw error;
        const md = metadataObject(error.metadata);
        if (!RETRYABLE.has(error.code) || Date.now() >= deadline) {
          throw SluiceError.fromGrpc(error);
        }
        const hint = md['sluice-leader'];
        if (route) this.setLeader(...route, hint);
        address = hint || this.nextAddress(address);
        const delay = backoffDelay(attempt, md['sluice-retry-after-ms']);
        await sleep(Math.min(delay, Math.max(0, (deadline - Date.now()) / 1000)));
      }
    }
  }

  // GetQueue; also records each partition's current leader.
  async getQueue(name) {
    const r = await this.call('GetQueue', { queue_name: name });
    for (const route of r.partition_routes) {
      this.setLeader(name, route.partition, route.leader_address);
    }
    return r.queue;
  }

  // CreateQueue is idempotent: it returns the queue whether this call created
  // it or it existed with the same attributes (other attributes:
  // ALREADY_EXISTS). Durations in attributes are given in seconds.
  async createQueue(name, attributes = {}) {
    const attrs = {};
    for (const [key, value] of Object.entries(attributes)) {
      attrs[key] = ['visibility_timeout', 'delivery_delay', 'message_retention',
        'receive_wait_time', 'dedup_window'].includes(key)
        ? duration(value) : value;
    }
    const r = await this.call('CreateQueue',
      { queue_name: name, attributes: attrs });
    return r.queue;
  }
}

// Runs a command-line program's `async main(argv)` (resolving to its exit
// code) if `mod` is the program node was started with. A SluiceError ends
// it with its message and exit code 1; any other error is a bug and
// propagates (stack trace).
function runMain(mod, name, main) {
  if (require.main !== mod) return;
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; },
    (error) => {
      if (!(error instanceof SluiceError)) throw error;
      console.error(`${name}: ${error.message}`);
      process.exitCode = 1;
    });
}

module.exports = {
  grpc, sluice, Status, RETRYABLE, SluiceError, SluiceClient, duration,
  durationSeconds, backoffDelay, sleep, xxh64, partitionFor, metadataObject,
  runMain, defaultAddresses, securityFromEnv, channelCredentials,
};
