/** `llmopt convert`: re-serialize a model, moving weights to or from external data. */
import path from 'node:path';
import type { Command } from 'commander';
import { checkOutputPath, loadWithProgress, parseNonNegativeInt, saveWithProgress, totalBytes, uiFor } from '../common.js';
import { formatBytes, type Report } from '../../report/report.js';
import { ConfigError } from '../../errors.js';

interface ConvertFlags {
  readonly output: string;
  readonly externalData?: boolean;
  readonly inline?: boolean;
  readonly threshold: number;
  readonly dataFile?: string;
  readonly maxDataFileBytes?: number;
}

export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description('re-serialize a model; move weights to or from external data')
    .argument('<model>', 'input .onnx file (external data is read from its folder)')
    .requiredOption('-o, --output <file>', 'output .onnx file (never the input)')
    .option('--external-data', 'store every tensor of at least --threshold bytes in a data file next to the output')
    .option('--threshold <bytes>', 'smallest tensor moved to external data', parseNonNegativeInt('--threshold'), 1024)
    .option('--data-file <name>', 'data file name, relative to the output folder (default: <output>.data)')
    .option('--max-data-file-bytes <bytes>', 'start a new data file past this size', parseNonNegativeInt('--max-data-file-bytes'))
    .option('--inline', 'store every tensor inside the .onnx file (models under 2 GB)')
    .addHelpText('after', `
Without --external-data or --inline, tensors stay where they were.

Examples:
  $ llmopt convert model.onnx -o big/model.onnx --external-data --threshold 4096
  $ llmopt convert big/model.onnx -o single.onnx --inline`)
    .action((model: string, flags: ConvertFlags, cmd: Command) => {
      if (flags.externalData && flags.inline) throw new ConfigError('--external-data and --inline contradict each other; choose one');
      checkOutputPath(model, flags.output);
      const ui = uiFor(cmd);
      const ir = loadWithProgress(ui, model);
      const result = saveWithProgress(ui, ir, flags.output, {
        externalData: flags.externalData ? 'external' : flags.inline ? 'inline' : 'keep',
        threshold: flags.threshold,
        dataFile: flags.dataFile,
        maxDataFileBytes: flags.maxDataFileBytes,
      });
      const files = [{ file: result.file, bytes: result.bytes }, ...result.dataFiles];
      const report: Report = {
        title: `llmopt convert: ${model} -> ${flags.output}`,
        sections: [{
          title: 'Files written',
          table: { columns: ['file', 'size'], rows: files.map((f) => [path.relative(process.cwd(), f.file) || f.file, formatBytes(f.bytes)]) },
        }],
        warnings: [],
        data: { input: model, output: result.file, totalBytes: totalBytes(result), files },
      };
      ui.report(report);
    });
}
