// The messages between the training page (web/app.ts, main thread) and its worker (web/worker.ts).
//
// Requests carry an `id`; the worker answers each with one message carrying the same `id` (the
// result, or `error`). Training is a request whose answer comes when it stops (finished, or stopped
// by `stop`); meanwhile the worker streams events without an id: `progress` after every step,
// `epoch` after every epoch's evaluation, `state` on pause/resume. `pause`/`resume`/`stop` are
// answered at once. Large payloads (checkpoint bytes) are transferred, not copied.
//
// Not handled: more than one training run at a time (a second `train` is refused while one runs).

export type BackendChoice = 'webgpu' | 'wasm' | 'auto';
export type OptimizerName = 'pugd' | 'sgd' | 'adam' | 'adamw' | 'sam' | 'ugd';
export type DataFormat = 'auto' | 'cifar10' | 'cifar100' | 'mnist' | 'fashion-mnist' | 'imagefolder';

/** Where the data comes from: the built-in sample, or files the user picked. */
export type DataChoice =
  | { kind: 'sample'; train?: number; test?: number; seed?: number }
  | { kind: 'files'; files: File[]; format: DataFormat };

export interface TrainConfig {
  /** A model name as the CLI's --model (resnet20, resnet8, …). */
  model: string;
  /** Base width of the ResNet (16 in the paper); smaller trains faster in a browser. */
  width?: number;
  optimizer: OptimizerName;
  lr: number;
  momentum?: number;
  weightDecay?: number;
  batchSize: number;
  epochs: number;
  seed: number;
  /** Stop after this many steps in all (tests, demos); default: every epoch. */
  maxSteps?: number;
  /** Images of the test split evaluated after each epoch (default: all). */
  evalLimit?: number;
  /** Pad-and-crop + flip for 3-channel data (default true). */
  augment?: boolean;
}

export type Request =
  | { id: number; type: 'init'; backend: BackendChoice; threads?: number }
  | { id: number; type: 'data'; data: DataChoice }
  | { id: number; type: 'train'; config: TrainConfig }
  | { id: number; type: 'pause' }
  | { id: number; type: 'resume' }
  | { id: number; type: 'stop' }
  | { id: number; type: 'evaluate'; limit?: number }
  | { id: number; type: 'save' }
  | { id: number; type: 'load'; bytes: ArrayBuffer; name: string; model?: string; width?: number };

/** A request without its id (what the page's `request()` takes); distributes over the union. */
export type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

/** What the page shows about the backend it got. */
export interface BackendReport {
  name: 'webgpu' | 'wasm';
  description: string;
  adapter?: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean };
  threads: number;
  crossOriginIsolated: boolean;
  /** When WebGPU was asked for (or auto) and WASM was taken: why. */
  fallbackReason?: string;
}

export interface DataReport {
  name: string;
  classes: string[];
  train: number;
  test: number;
  /** [channels, height, width] of the batches. */
  shape: [number, number, number];
}

export interface EvalReport {
  loss: number;
  acc: number;
  images: number;
  seconds: number;
}

export interface ProgressEvent {
  type: 'progress';
  step: number;
  epoch: number;
  loss: number;
  /** Accuracy on this step's batch (before the update). */
  acc: number;
  imagesPerSecond: number;
  stepSeconds: number;
}

export type Event =
  | ProgressEvent
  | { type: 'epoch'; epoch: number; eval: EvalReport }
  | { type: 'state'; state: 'training' | 'paused' | 'idle' }
  | { type: 'log'; line: string };

export type Response =
  | { id: number; type: 'ready'; backend: BackendReport }
  | { id: number; type: 'data'; data: DataReport }
  | { id: number; type: 'trained'; steps: number; stopped: boolean; lastLoss: number }
  | { id: number; type: 'ok' }
  | { id: number; type: 'eval'; eval: EvalReport }
  | { id: number; type: 'checkpoint'; bytes: ArrayBuffer; name: string }
  | { id: number; type: 'loaded'; model: string; width: number; metadata: Record<string, string> }
  | { id: number; type: 'error'; message: string };

export type WorkerMessage = Event | Response;
