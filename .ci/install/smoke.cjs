require('./check.cjs')(require('sled-node'), 'require')
