export * from './model.js';
export * from './source.js';
export * from './analyzer.js';
export * from './graph.js';
export * from './diagnostics.js';
