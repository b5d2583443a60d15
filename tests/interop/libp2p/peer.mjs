// js-libp2p peer for the C++ interop tests. Prints JSON lines on stdout.
//   node peer.mjs listen           listen on 127.0.0.1:0, print {"event":"listening",...}
//   node peer.mjs dial <multiaddr> dial the address
// In both modes it pings every peer that connects and prints what identify tells it.
// It also runs gossipsub (StrictSign, js defaults) and kad-dht in server mode on
// /ipfs/kad/1.0.0 (or KAD_PROTOCOL) with a pass-through address mapper, so loopback peers enter
// its routing table. Commands arrive as JSON lines on stdin; each answers with one event line:
//   {"cmd":"subscribe","topic":T}                 -> {"event":"subscribed","topic":T}
//   {"cmd":"publish","topic":T,"data":S}          -> {"event":"published","recipients":N} | publish_error
//   {"cmd":"subscribers","topic":T}               -> {"event":"subscribers","topic":T,"peers":[..]}
//   {"cmd":"mesh","topic":T}                      -> {"event":"mesh","topic":T,"peers":[..]}
//   {"cmd":"dial","addr":A}                       -> {"event":"dialed",...} | dial_error
//   {"cmd":"find_peer","peer":P}                  -> {"event":"found_peer","peer":P,"addrs":[..]} | find_error
//   {"cmd":"routing_table"}                       -> {"event":"routing_table","peers":[..]}
//   {"cmd":"perf_serve"}                          -> {"event":"perf_serving"}  (serves /perf/1.0.0 from then on)
//   {"cmd":"perf","addr":A,"upload":U,"download":D} -> {"event":"perf_done","upload":U,"download":D,"ms":T} | perf_error
// /perf/1.0.0: the client writes the download size (8 bytes, big endian), then U bytes, and
// closes its write side; the server reads everything, then writes D bytes and closes.
// Each gossip message received prints {"event":"message","topic","from","data"}.
import './polyfill.mjs'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, identifyPush } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { gossipsub } from '@chainsafe/libp2p-gossipsub'
import { kadDHT } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createInterface } from 'node:readline'

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const [mode, target] = process.argv.slice(2)

const node = await createLibp2p({
  addresses: { listen: mode === 'listen' ? ['/ip4/127.0.0.1/tcp/0'] : [] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  // many C++ nodes dial this one peer at once from 127.0.0.1
  connectionManager: { inboundConnectionThreshold: 1000, maxIncomingPendingConnections: 100 },
  services: {
    identify: identify(),
    identifyPush: identifyPush(),
    ping: ping(),
    pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }),
    dht: kadDHT({
      protocol: process.env.KAD_PROTOCOL ?? '/ipfs/kad/1.0.0',
      clientMode: false,
      peerInfoMapper: (info) => info // keep loopback addresses
    })
  }
})

node.addEventListener('peer:identify', (evt) => {
  const d = evt.detail
  out({
    event: 'identify',
    peer: d.peerId.toString(),
    protocols: d.protocols,
    listenAddrs: d.listenAddrs.map((a) => a.toString()),
    agentVersion: d.agentVersion,
    protocolVersion: d.protocolVersion,
    observedAddr: d.observedAddr?.toString()
  })
})

node.addEventListener('peer:connect', async (evt) => {
  const peer = evt.detail
  try {
    const rtt = await node.services.ping.ping(peer, { signal: AbortSignal.timeout(5000) })
    out({ event: 'ping', peer: peer.toString(), rtt })
  } catch (err) {
    out({ event: 'ping_error', peer: peer.toString(), error: String(err) })
  }
})

node.services.pubsub.addEventListener('message', (evt) => {
  const m = evt.detail
  out({ event: 'message', topic: m.topic, from: m.from?.toString(), data: new TextDecoder().decode(m.data) })
})

await node.start()
out({ event: 'listening', peer: node.peerId.toString(), addrs: node.getMultiaddrs().map((a) => a.toString()) })

const dial = async (addr) => {
  try {
    const conn = await node.dial(multiaddr(addr), { signal: AbortSignal.timeout(10000) })
    out({ event: 'dialed', peer: conn.remotePeer.toString(), remoteAddr: conn.remoteAddr.toString() })
  } catch (err) {
    out({ event: 'dial_error', error: String(err) })
  }
}

if (mode === 'dial') await dial(target)

const PERF_PROTOCOL = '/perf/1.0.0'
const PERF_BLOCK = new Uint8Array(64 * 1024)
async function * perfBytes (n, header) {
  if (header != null) yield header
  while (n > 0) {
    const k = Math.min(n, PERF_BLOCK.length)
    yield PERF_BLOCK.subarray(0, k)
    n -= k
  }
}
const perfServe = async ({ stream }) => {
  try {
    const hdr = new Uint8Array(8)
    let have = 0
    for await (const chunk of stream.source) {
      if (have < 8) {
        const b = chunk.subarray()
        const k = Math.min(8 - have, b.length)
        hdr.set(b.subarray(0, k), have)
        have += k
      }
    }
    if (have < 8) throw new Error('perf: short header')
    const down = Number(new DataView(hdr.buffer).getBigUint64(0, false))
    await stream.sink(perfBytes(down))
  } catch (err) {
    stream.abort(err)
  }
}

const commands = {
  perf_serve: async () => {
    await node.handle(PERF_PROTOCOL, perfServe, { maxInboundStreams: 16, maxOutboundStreams: 16 })
    out({ event: 'perf_serving' })
  },
  perf: async (c) => {
    try {
      const start = performance.now()
      const stream = await node.dialProtocol(multiaddr(c.addr), PERF_PROTOCOL, { signal: AbortSignal.timeout(10000) })
      const hdr = new Uint8Array(8)
      new DataView(hdr.buffer).setBigUint64(0, BigInt(c.download), false)
      await stream.sink(perfBytes(c.upload, hdr))
      let got = 0
      for await (const chunk of stream.source) got += chunk.byteLength
      const ms = performance.now() - start
      if (got !== c.download) throw new Error(`perf: got ${got} bytes, asked ${c.download}`)
      out({ event: 'perf_done', upload: c.upload, download: c.download, ms })
    } catch (err) {
      out({ event: 'perf_error', error: String(err) })
    }
  },
  subscribe: async (c) => { node.services.pubsub.subscribe(c.topic); out({ event: 'subscribed', topic: c.topic }) },
  publish: async (c) => {
    try {
      const r = await node.services.pubsub.publish(c.topic, new TextEncoder().encode(c.data))
      out({ event: 'published', recipients: r.recipients.length })
    } catch (err) {
      out({ event: 'publish_error', error: String(err) })
    }
  },
  subscribers: async (c) => out({ event: 'subscribers', topic: c.topic, peers: node.services.pubsub.getSubscribers(c.topic).map(String) }),
  mesh: async (c) => out({ event: 'mesh', topic: c.topic, peers: node.services.pubsub.getMeshPeers(c.topic).map(String) }),
  dial: async (c) => dial(c.addr),
  find_peer: async (c) => {
    try {
      const info = await node.peerRouting.findPeer(peerIdFromString(c.peer), { signal: AbortSignal.timeout(10000) })
      out({ event: 'found_peer', peer: info.id.toString(), addrs: info.multiaddrs.map(String) })
    } catch (err) {
      out({ event: 'find_error', peer: c.peer, error: String(err) })
    }
  },
  routing_table: async () => {
    const peers = []
    for (const b of node.services.dht.routingTable.kb?.toIterable?.() ?? []) peers.push(b.peerId.toString())
    out({ event: 'routing_table', size: node.services.dht.routingTable.size, peers })
  }
}

const stop = async () => { await node.stop(); process.exit(0) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
// Exit when the test goes away (stdin closes) so no process outlives it.
const rl = createInterface({ input: process.stdin })
rl.on('line', (line) => {
  let c
  try { c = JSON.parse(line) } catch { return out({ event: 'bad_command', line }) }
  const f = commands[c.cmd]
  if (f == null) return out({ event: 'bad_command', line })
  f(c).catch((err) => out({ event: 'command_error', cmd: c.cmd, error: String(err) }))
})
rl.on('close', stop)
