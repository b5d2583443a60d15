// js-libp2p peer for the C++ interop tests. Prints JSON lines on stdout.
//   node peer.mjs listen          listen on 127.0.0.1:0, print {"event":"listening",...}
//   node peer.mjs dial <multiaddr> dial the address
// In both modes it pings every peer that connects and prints what identify tells it.
import './polyfill.mjs'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, identifyPush } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const [mode, target] = process.argv.slice(2)

const node = await createLibp2p({
  addresses: { listen: mode === 'listen' ? ['/ip4/127.0.0.1/tcp/0'] : [] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), identifyPush: identifyPush(), ping: ping() }
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

await node.start()
out({ event: 'listening', peer: node.peerId.toString(), addrs: node.getMultiaddrs().map((a) => a.toString()) })

if (mode === 'dial') {
  try {
    const conn = await node.dial(multiaddr(target), { signal: AbortSignal.timeout(10000) })
    out({ event: 'dialed', peer: conn.remotePeer.toString(), remoteAddr: conn.remoteAddr.toString() })
  } catch (err) {
    out({ event: 'dial_error', error: String(err) })
  }
}

const stop = async () => { await node.stop(); process.exit(0) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
// Exit when the test goes away (stdin closes) so no process outlives it.
process.stdin.on('end', stop)
process.stdin.resume()
