import { it } from 'vitest';
import { NodeDir } from '../../engine/byte-source-node.js';
import { cpuBackend } from '../../kernels/backend.js';
import { generate } from '../../models/generate.js';
import { loadModel } from '../../models/load.js';
import { sharedPath } from '../helpers.js';
it('explore', async () => {
  const { model } = await loadModel(await NodeDir.open(sharedPath('models/stories260k')), cpuBackend());
  console.log(JSON.stringify(model.cfg));
  const [a] = await generate(model, [{ promptIds: [1], maxNewTokens: 64, stopIds: [] }]);
  console.log('NOSTOP', JSON.stringify(a));
  const [b] = await generate(model, [{ promptIds: [1], maxNewTokens: 64 }]);
  console.log('EOS', JSON.stringify(b));
  const [c] = await generate(model, [{ promptIds: [1], maxNewTokens: 400, stopIds: [] }]);
  console.log('LONG', c!.ids.indexOf(2), JSON.stringify(c));
});
