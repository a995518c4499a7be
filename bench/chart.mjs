// The results chart: a vega-lite spec compiled to vega and rendered headless to SVG by
// vega's View.toSVG() (no browser, no canvas needed). One bar group per workload, one bar
// per contender, ops/s on a log scale because the contenders span six orders of magnitude.

import { WORKLOADS, CONTENDERS } from './plan.mjs'

export function chartSpec(run) {
  // † marks BENCH.md's "fastest allowed" (not durable) contenders, as in the tables
  const label = (id) => (CONTENDERS.find((c) => c.id === id)?.fastest ? `${id} †` : id)
  const values = run.results.map((r) => ({ workload: r.workload, contender: label(r.contender), opsPerSec: r.opsPerSec }))
  const min = Math.min(...values.map((v) => v.opsPerSec))
  const max = Math.max(...values.map((v) => v.opsPerSec))
  const lo = 10 ** Math.floor(Math.log10(min))
  const hi = 10 ** Math.ceil(Math.log10(max))
  const decades = []
  for (let d = lo; d <= hi; d *= 10) decades.push(d)
  const workloads = WORKLOADS.map((w) => w.id).filter((id) => values.some((v) => v.workload === id))
  const contenders = CONTENDERS.map((c) => label(c.id)).filter((id) => values.some((v) => v.contender === id))
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `sled-node and peers: ops/s per workload (log scale, higher is better)`,
      subtitle: [
        `N=${run.n.toLocaleString('en-US')}, ${run.valueSize}-byte values, ${run.quick ? 'quick' : 'full'} run, ${run.date}, ${run.cpu} × ${run.cores}, Node ${run.node}`,
        'units differ per workload (see RESULTS.md); compare bars within a group; † fastest allowed, not durable',
      ],
    },
    width: Math.max(400, workloads.length * contenders.length * 9),
    height: 360,
    background: 'white',
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'workload', type: 'nominal', sort: workloads, title: null, axis: { labelAngle: 0 } },
      xOffset: { field: 'contender', type: 'nominal', sort: contenders },
      y: {
        field: 'opsPerSec',
        type: 'quantitative',
        title: 'ops/s (log)',
        scale: { type: 'log', domain: [lo, hi] },
        axis: { values: decades, format: '~s' },
      },
      // a log scale has no zero: bars grow from the bottom of the domain
      y2: { datum: lo },
      color: { field: 'contender', type: 'nominal', sort: contenders, scale: { scheme: 'category20' }, legend: { title: null } },
    },
  }
}

export async function renderSvg(run) {
  const vl = await import('vega-lite')
  const vega = await import('vega')
  const compiled = vl.compile(chartSpec(run)).spec
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}
