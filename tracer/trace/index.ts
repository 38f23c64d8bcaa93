export * from './schema';
export * from './errors';
export * from './validate';
export * from './reader';
export * from './writer';
