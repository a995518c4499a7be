// Run where sled-node is installed without its platform package: require must fail with one
// SledError that names the platform and the way out, not napi-rs's chain of loader errors.
const target = `${process.platform}-${process.arch}`
try {
  require('sled-node')
} catch (error) {
  const expected = [`no native binary could be loaded for ${target}`, 'build from source', 'https://rustup.rs']
  const missing = expected.filter((text) => !error.message.includes(text))
  if (error.code !== 'SLED_NO_BINARY' || error.name !== 'SledError' || error.cause || missing.length) {
    console.error(error)
    throw new Error(`unexpected error without a binary (missing: ${missing.join(', ')})`)
  }
  console.log(`ok ${target} without a binary: ${error.message.split('\n')[0]}`)
  process.exit(0)
}
throw new Error('require("sled-node") succeeded without a platform package')
