// The same typings through require (a CommonJS consumer).
import sled = require('sled-node')

const db: sled.Db = sled.open('./db')
const value: Buffer | undefined = db.get('k')
db.close()
export = value
