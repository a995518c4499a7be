require('./check.cjs')(require('sled-node'), 'require').catch((error) => {
  console.error(error)
  process.exit(1)
})
