import { hasOption, optionName, optionValue, optionValues, parseOptions, valuedOptions } from '../../../shared/cmdline/options';
import { splitArgv } from '../../../shared/cmdline/tokenize';

describe('optionName', () => {
  it('reads dash, double dash, typographic dash and (optionally) slash options', () => {
    expect(optionName('-Out', false)).toBe('out');
    expect(optionName('--out', false)).toBe('out');
    expect(optionName('–sv', false)).toBe('sv');
    expect(optionName('/pvk', true)).toBe('pvk');
    expect(optionName('/pvk', false)).toBeNull();
  });

  it('treats values as values', () => {
    expect(optionName('-', true)).toBeNull();
    expect(optionName('-5', true)).toBeNull();
    expect(optionName('file.pem', true)).toBeNull();
  });
});

describe('parseOptions', () => {
  const spec = { slash: true, valued: valuedOptions(['f', 'p', ['sa', 2]]) };

  it('gives valued options their values and keeps positionals in order', () => {
    const parsed = parseOptions(splitArgv('/a /f c.pfx x.exe /sa 1.2 v /p -secret- y.exe'), spec);
    expect(parsed.options.map((o) => [o.name, o.index, o.values.map((v) => v.text)])).toEqual([
      ['a', 0, []],
      ['f', 1, ['c.pfx']],
      ['sa', 4, ['1.2', 'v']],
      ['p', 7, ['-secret-']],
    ]);
    expect(parsed.positionals.map((w) => w.text)).toEqual(['x.exe', 'y.exe']);
    expect(optionValue(parsed, 'f')).toBe('c.pfx');
    expect(optionValue(parsed, 'n')).toBeNull();
    expect(optionValues(parsed, 'sa')).toEqual(['1.2', 'v']);
    expect(hasOption(parsed, 'a')).toBe(true);
  });

  it('survives a valued option at the end', () => {
    expect(optionValue(parseOptions(splitArgv('/f'), spec), 'f')).toBeNull();
  });
});
