// The "HTTP wrapper" workaround: sled inside crates/sled-http (tiny_http, 127.0.0.1 only,
// two request threads), one process per run, called with node:http and a keep-alive
// Agent of 4 sockets with 4 requests in flight. Not 64 like the async API: tiny_http
// serves each connection on a thread of a pool that keeps 4 threads idle, and a burst of
// more new connections than idle threads leaves the extra ones queued behind long-lived
// keep-alive connections forever (seen here as hung requests). On 2 cores 4 concurrent
// requests already keep both server threads busy. Insertion one request per entry is
// slow (~0.2 ms), so fill-seq / fill-rand insert at most 20,000 entries (recorded);
// per-request cost dwarfs the tree's size there.

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import { createInterface } from 'node:readline'
import { ensureBinary, binaryPath } from '../binaries.mjs'
import { frame, unframe } from './frames.mjs'
import { peakRssOf } from '../usage.mjs'

export { durability } from './sled-node.mjs'

export const settings = 'crates/sled-http (tiny_http, sled defaults); node:http keep-alive Agent, 4 sockets, 4 in flight'

const SOCKETS = 4
export const inFlight = { put: SOCKETS, get: SOCKETS, getMany: 1, batch: 1, scan: 1, scanRange: 1 }
export const block = 200
export const fillLimit = (workload, n) => (workload === 'fill-batch' ? n : Math.min(n, 20_000))

export function unsupported(workload) {
  return workload === 'read-workers' ? 'one server process: there is no shared in-process database to read from threads' : null
}

export const probe = async () => ensureBinary('sled-http')

export async function open(dir) {
  const server = spawn(binaryPath('sled-http'), [dir], { stdio: ['pipe', 'pipe', 'inherit'] })
  const [line] = await once(createInterface({ input: server.stdout }), 'line')
  const { port } = JSON.parse(line)
  const agent = new http.Agent({ keepAlive: true, maxSockets: SOCKETS })

  const request = (method, path, body) =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => {
          const data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)
          if (res.statusCode >= 400 && res.statusCode !== 404) reject(new Error(`${method} ${path}: ${res.statusCode} ${data}`))
          else resolve({ status: res.statusCode, data })
        })
      })
      req.on('error', reject)
      req.end(body)
    })
  const range = async (query) => unframe((await request('GET', `/range?${query}`)).data)

  return {
    put: (k, v) => request('PUT', `/k/${k.toString('hex')}`, v),
    get: async (k) => {
      const r = await request('GET', `/k/${k.toString('hex')}`)
      return r.status === 404 ? undefined : r.data
    },
    getMany: async (keys) => unframe((await request('POST', '/get-many', frame(keys))).data),
    batch: (entries) => request('POST', '/batch', frame(entries.flat())),
    async scan() {
      // paged, so neither side holds the whole table in one response
      let count = 0
      let last
      for (let page = await range('limit=10000'); page.length; page = await range(`gt=${last[0].toString('hex')}&limit=10000`)) {
        count += page.length / 2
        last = page.slice(-2)
      }
      return { count, last }
    },
    async scanRange(start, n) {
      const page = await range(`gte=${start.toString('hex')}&limit=${n}`)
      return { count: page.length / 2, first: page.slice(0, 2) }
    },
    // the store lives in the server: its peak RSS is added to the harness process's
    serverPeakRssBytes: () => peakRssOf(server.pid),
    async close() {
      agent.destroy()
      server.stdin.end()
      if (server.exitCode === null) await once(server, 'exit')
    },
  }
}
