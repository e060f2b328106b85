// Type-checked in a Node-only setting (lib es2022 + @types/node, no DOM lib), nodenext resolution.
import { readFileSync } from 'node:fs';
import { loadModel, createWorkerModel, RecipeError, type Report } from 'modelpress';
import { readNpy } from 'modelpress/npy';

export async function optimizeFile(file: string, calib: string): Promise<Report> {
  const model = await loadModel(readFileSync(file));
  const ac = new AbortController();
  try {
    const { report } = await model.optimize({ quantize: { mode: 'int8' } }, { calibration: readNpy(readFileSync(calib)), signal: ac.signal });
    const w = await createWorkerModel(new Blob([readFileSync(file)]));
    const lat = await w.benchmark({ runs: 10 });
    w.dispose();
    console.log(lat.median);
    return report;
  } catch (e) {
    if (e instanceof RecipeError) console.error(e.field);
    throw e;
  } finally {
    model.dispose();
  }
}
