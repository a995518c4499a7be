// The progress display: one cli-progress bar over all cells, naming the cell and its
// phase. Lines printed while it runs (skips, failures) go through log() so the bar is
// redrawn below them. Without a terminal it prints one line per finished cell instead.

import cliProgress from 'cli-progress'

export function progress(total) {
  if (!process.stderr.isTTY) {
    let done = 0
    return {
      cell() {},
      phase() {},
      finish(label, outcome) {
        console.error(`[${++done}/${total}] ${label}: ${outcome}`)
      },
      log: (line) => console.error(line),
      stop() {},
    }
  }
  const multi = new cliProgress.MultiBar(
    {
      format: ' {bar} {value}/{total} cells | {eta_formatted} left | {cell} {phase}',
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  )
  const bar = multi.create(total, 0, { cell: '', phase: '' })
  return {
    cell: (label) => bar.update({ cell: label, phase: '' }),
    phase: (phase) => bar.update({ phase }),
    finish: () => bar.increment(),
    log: (line) => multi.log(`${line}\n`),
    stop: () => multi.stop(),
  }
}
