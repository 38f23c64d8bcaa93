/** A variable as the debugger's scopes build it: a described fact (tracer/describe), expandable on demand. */

import type { Fact } from '../tracer/describe';

export type VarNode = Fact;
