// Sends an upload the way PicList-Core's advancedplist uploader builds it
// (src/plugins/uploader/advancedplist.ts, read, not copied): the configured
// method and endpoint; headers contentType multipart/form-data and
// User-Agent PicList, then the configured headers JSON; form data the file
// under formDataKey (default "file"), then the configured body JSON; the
// URL read at resDataPath (default data.url). Only for capturing the bytes.
module.exports = (ctx) => {
  const handle = async (ctx) => {
    const cfg = ctx.getConfig('picBed.advancedplist')
    for (const img of ctx.output) {
      const image = img.buffer || Buffer.from(img.base64Image, 'base64')
      const res = await ctx.request({
        method: (cfg.method || 'POST').toUpperCase(),
        url: cfg.endpoint,
        headers: { contentType: 'multipart/form-data', 'User-Agent': 'PicList', ...JSON.parse(cfg.headers || '{}') },
        formData: { [cfg.formDataKey || 'file']: { value: image, options: { filename: img.fileName } }, ...JSON.parse(cfg.body || '{}') },
        json: true
      })
      let doc = typeof res === 'string' ? JSON.parse(res) : res
      for (const key of (cfg.resDataPath || 'data.url').split('.')) doc = doc && doc[key]
      if (typeof doc !== 'string') throw new Error('no URL in the answer')
      delete img.buffer
      delete img.base64Image
      img.imgUrl = doc
    }
    return ctx
  }
  return {
    register () { ctx.helper.uploader.register('advancedplist', { handle, name: 'advancedplist' }) }
  }
}
