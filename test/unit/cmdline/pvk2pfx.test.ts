import { analysePvk2pfx } from '../../../shared/cmdline/pvk2pfx';
import { splitArgv } from '../../../shared/cmdline/tokenize';

describe('analysePvk2pfx', () => {
  it('reads the three files with dash or slash switches', () => {
    expect(analysePvk2pfx(splitArgv('/pvk a.pvk /pi pw /spc a.spc /pfx a.pfx /po pw2 /f'))).toMatchObject({ action: 'convert-key', files: ['a.pvk', 'a.spc', 'a.pfx'] });
    expect(analysePvk2pfx(splitArgv('-pvk a.pvk -spc a.cer -pfx a.pfx')).files).toEqual(['a.pvk', 'a.cer', 'a.pfx']);
  });
});
