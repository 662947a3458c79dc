-- wrk script of bench/run.sh: every request POSTs UPLOAD_FILE as the
-- "source" part of a multipart form, with the API key UPLOAD_KEY, to the
-- Chevereto API path given on the command line.
local f = assert(io.open(os.getenv("UPLOAD_FILE"), "rb"))
local data = f:read("*a")
f:close()
local key = os.getenv("UPLOAD_KEY") or ""
local b = "----picbedbench7d91"
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. b
wrk.body = "--" .. b .. "\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n" .. key .. "\r\n" ..
  "--" .. b .. "\r\nContent-Disposition: form-data; name=\"source\"; filename=\"shot.png\"\r\n" ..
  "Content-Type: image/png\r\n\r\n" .. data .. "\r\n--" .. b .. "--\r\n"
