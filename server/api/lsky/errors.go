package lsky

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"picbed/ingest"
	"picbed/server/site"
	"picbed/store"
)

// Error is a refusal in Lsky Pro's words, for both API versions: Lsky 2.x
// answers {"status":false,"message":Message,"data":{}} with HTTP Status
// (200 for upload and token refusals, as Lsky's controllers answer them;
// 401, 403, 429 from its middleware); Lsky 1.x answers
// {"code":V1Code,"msg":V1Message,...} and always HTTP 200.
type Error struct {
	Status    int
	Message   string
	V1Code    int
	V1Message string
}

func (e *Error) Error() string { return e.Message }

// refusal makes an error whose 1.x form is Lsky 1.x's generic upload failure
// (code 500) with the same message.
func refusal(status int, msg string) *Error {
	return &Error{Status: status, Message: msg, V1Code: 500, V1Message: msg}
}

// Refusals of the API routes and of authentication, in the words of Lsky
// Pro 2.1 (app/Exceptions/Handler.php, Api/V1/*Controller.php, the Laravel
// exceptions it renders) and 1.6 (application/api/controller,
// http/middleware/ApiAuthenticate.php).
var (
	// errUnauthenticated: a token route without a valid token (Laravel's
	// AuthenticationException, rendered by Lsky's Handler with 401).
	errUnauthenticated = &Error{http.StatusUnauthorized, "Unauthenticated.", 401, "Token 不存在"}
	// errAuthFailed: an upload whose Authorization header names no valid
	// token (ImageController::upload) or a 1.x token that matches no user.
	errAuthFailed = &Error{http.StatusUnauthorized, "Authentication failed.", 401, "认证失败"}
	// errTooManyAttempts: Laravel's throttle, rendered with 429. picbed
	// sends it for its own throttles: too many wrong keys from an address,
	// too many failed passwords, too many token requests.
	errTooManyAttempts = &Error{http.StatusTooManyRequests, "Too Many Attempts.", 429, "Too Many Attempts."}
	// errAPIOff: CheckIsEnableApi (2.x, 403) and ApiAuthenticate (1.x,
	// code 500) while the admin has the API turned off.
	errAPIOff = &Error{http.StatusForbidden, "管理员未启用 API", 500, "管理员关闭了接口"}

	// Token requests: Laravel's zh_CN validation messages (":attribute 不能为
	// 空。" with the field name, which Lsky's translations leave untranslated)
	// and TokenController's own.
	errEmailRequired    = refusal(http.StatusOK, "email 不能为空。")
	errPasswordRequired = refusal(http.StatusOK, "password 不能为空。")
	errWrongPassword    = refusal(http.StatusOK, "The email address or password is incorrect.")

	// Uploads: ImageService::store's refusals (UploadException, answered
	// with HTTP 200), 1.x's where it has its own words.
	errGuestUploadsOff = &Error{http.StatusOK, "管理员关闭了游客上传", 500, "管理员关闭了游客上传通道"}
	errNoFile          = &Error{http.StatusOK, "file 不能为空。", 500, "图片资源获取失败"}
	errUnsupported     = refusal(http.StatusOK, "不支持的文件类型")
	errTooBig          = &Error{http.StatusOK, "图片大小超出限制", 500, "上传文件大小不符！"}
	errNoStrategy      = refusal(http.StatusOK, "选定的策略不存在")
	errNoSpace         = refusal(http.StatusOK, "储存空间不足")
	errInternal        = refusal(http.StatusOK, "服务异常，请稍后再试")

	// picbed's own refusals, which Lsky has no words for, worded like
	// Lsky's.
	errInvalidImage  = refusal(http.StatusOK, "图片文件无效或已损坏")
	errDuplicate     = refusal(http.StatusOK, "该图片已上传过")
	errBusy          = refusal(http.StatusOK, "服务器繁忙，请稍后再试")
	errTooManyFields = refusal(http.StatusOK, "请求参数过多")
	errFieldTooLong  = refusal(http.StatusOK, "请求参数过长")
	errMalformedBody = refusal(http.StatusOK, "请求格式错误")
)

// floodPeriods are Lsky's words for ingest's periods (ImageService's
// rateLimiter).
var floodPeriods = [...]string{"分钟", "小时", "天", "周", "月"}

// errFlooding is Lsky's rate limit refusal, "每分钟内你最多可以上传 50 张图片".
func errFlooding(limit int, p ingest.Period) *Error {
	word := "月"
	if int(p) >= 0 && int(p) < len(floodPeriods) {
		word = floodPeriods[p]
	}
	return refusal(http.StatusOK, fmt.Sprintf("每%s内你最多可以上传 %d 张图片", word, limit))
}

// errTooManyPixels names picbed's pixel budget, which Lsky does not have.
func errTooManyPixels(limit int) *Error {
	return refusal(http.StatusOK, fmt.Sprintf("图片像素超出限制，最大 %d 百万像素", limit/1_000_000))
}

// fixed maps the sentinel refusals of the other rooms to Lsky's.
var fixed = []struct {
	err error
	api *Error
}{
	{site.ErrInvalidKey, errAuthFailed},
	{store.ErrUnauthorized, errAuthFailed},
	{site.ErrGuestUploadsOff, errGuestUploadsOff},
	{site.ErrTooManyFields, errTooManyFields},
	{site.ErrFieldTooLong, errFieldTooLong},
	{site.ErrMalformedBody, errMalformedBody},
	{ingest.ErrEmptySource, errNoFile},
	{ingest.ErrNotImage, errUnsupported},
	{ingest.ErrUnsupported, errUnsupported},
	{ingest.ErrInvalidImage, errInvalidImage},
	{ingest.ErrDuplicate, errDuplicate},
	{ingest.ErrBusy, errBusy},
}

// Describe maps any error of a Lsky request to Lsky's words: the typed
// refusals of site and ingest, this package's own *Error as it is. An
// error no room names is logged to log with its detail and becomes Lsky's
// "服务异常，请稍后再试".
func Describe(err error, log *slog.Logger) *Error {
	var (
		ae    *Error
		big   *ingest.TooBigError
		pix   *ingest.TooManyPixelsError
		flood *ingest.FloodError
		keys  *site.KeyFailuresError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &big):
		return errTooBig
	case errors.As(err, &pix):
		return errTooManyPixels(pix.Limit)
	case errors.As(err, &flood):
		return errFlooding(flood.Limit, flood.Period)
	case errors.As(err, &keys):
		return errTooManyAttempts
	case ingest.IsNoSpace(err):
		return errNoSpace
	}
	for _, f := range fixed {
		if errors.Is(err, f.err) {
			return f.api
		}
	}
	log.Error("lsky request failed", slog.String("err", err.Error()))
	return errInternal
}
