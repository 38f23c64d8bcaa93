/**
 * The compact call form, for callers that still import it from here (tracer/cli/record.ts). Its home is
 * tracer/describe; new code imports it from there.
 */

export { formatCall } from '../describe';
