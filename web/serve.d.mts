// Types of web/serve.mjs (the page's static server), for the TypeScript tests that start it.
export declare const HEADERS: Record<string, string>;
export declare function startServer(opts?: { port?: number; host?: string; isolate?: boolean }): Promise<{ url: string; close: () => Promise<void> }>;
