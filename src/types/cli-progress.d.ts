// The part of cli-progress's API the CLI uses (the package ships no types; @types/cli-progress
// is not installed).
declare module 'cli-progress' {
  interface Options {
    format?: string
    hideCursor?: boolean
    clearOnComplete?: boolean
    stream?: NodeJS.WritableStream
  }
  class SingleBar {
    constructor(options: Options, preset?: object)
    start(total: number, start: number, payload?: object): void
    update(value: number, payload?: object): void
    stop(): void
  }
  const Presets: { shades_classic: object }
}
