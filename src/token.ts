// Handles are created by open()/openTree(), never by `new` from user code: their
// constructors require this module-private token.
export const CONSTRUCT = Symbol('sled-node:construct')
