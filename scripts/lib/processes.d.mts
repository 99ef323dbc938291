export function freePort(): Promise<number>;
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void;
export function isListening(port: number): Promise<boolean>;
