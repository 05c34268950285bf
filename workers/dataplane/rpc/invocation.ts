/** A Workers RPC call as it reaches a hop: a method call with its arguments, or a property read. */
export type RpcInvocation = { method: string; args: unknown[] } | { method: string; read: true };
