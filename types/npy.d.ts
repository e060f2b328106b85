// Types of `modelpress/npy`: NumPy .npy / .npz reading and writing.
import type { TypedArray } from './index.js';

export interface NpyArray {
  dtype: string;
  shape: number[];
  data: TypedArray;
}

export declare const NPY_DTYPES: readonly string[];
export declare function readNpy(bytes: Uint8Array | ArrayBuffer): NpyArray;
export declare function writeNpy(array: { data: ArrayBufferView; shape: number[]; dtype?: string }): Uint8Array;
export declare function readNpz(bytes: Uint8Array | ArrayBuffer, options?: { inflateRaw?: (bytes: Uint8Array) => Uint8Array }): Map<string, NpyArray>;
export declare function writeNpz(arrays: Map<string, { data: ArrayBufferView; shape: number[]; dtype?: string }> | Record<string, { data: ArrayBufferView; shape: number[]; dtype?: string }>): Uint8Array;
export declare function typedArrayFor(dtype: string): new (n: number) => ArrayBufferView;
export declare function dtypeOfArray(data: ArrayBufferView): string;
