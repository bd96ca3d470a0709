// `io`: the safetensors format and module weights in it (browser-safe; files are the caller's job).
export { encodeSafetensors, decodeSafetensors, toFloat32, type SafetensorsDType, type SafetensorsFile, type SafetensorsInput, type SafetensorsTensor } from './safetensors.js';
export { saveSafetensors, loadSafetensors, NonFiniteWeightsError } from './state.js';
