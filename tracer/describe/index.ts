/**
 * The one place that words things for people: calls, arguments, results and errors, processes, descriptors, sockets,
 * handoffs and findings. The CLI, the exports, the debugger and the language server take their words from here. It
 * reads only the trace (tracer/trace), the model (tracer/model) and the hooked-API catalogue. The labels the model's
 * own finding messages use (socketLabel, processLabel, descriptorLabel, …) stay in tracer/model/describe.ts and are
 * passed on from here, so every wording has one home.
 */

export {
  baseName, describeError, descriptorLabel, errorName, handleLabel, localAddressLabel, plural, processLabel,
  socketKindLabel, socketLabel,
} from '../model';
export * from './arguments';
export * from './calls';
export * from './descriptors';
export * from './facts';
export * from './findings';
export * from './handoffs';
export * from './processes';
export * from './protocol-info';
export * from './sockets';
export * from './text';
