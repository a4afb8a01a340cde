package web

import (
	"errors"
	"html/template"
	"net/http"
	"slices"
	"time"

	"github.com/tongid/tong/internal/text"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/services/inquiries"
	"github.com/tongid/tong/verifier"
)

// problem is what a person is told about a failure: what happened and
// what to do next, in English and Chinese. The code stays on the page,
// small, for support.
type problem struct {
	EN, ZH         string // what happened
	NextEN, NextZH string // what to do
}

// problems maps every stable code a person can meet on a page to its
// explanation. Codes not in the table get generic wording (and keep their
// code).
var problems = map[string]problem{
	// Verification (counter, booking, check-in, payment).
	// "expired" is both a credential's check code and, from the meetings
	// and payments services, a QR code that was never answered; the
	// counter, which knows which, explains a credential's as
	// credential_expired.
	"expired": {"The credential or the QR code has expired.", "凭证或二维码已过期。",
		"If the QR code expired, start again; if the credential expired, renew it at the agency that issued it.", "如二维码过期，请重新开始；如凭证过期，请到签发机关续办。"},
	"credential_expired": {"The credential has expired.", "凭证已过期。",
		"Ask the citizen to renew it at the agency that issued it, then check again.", "请市民到签发机关续办凭证后再核验。"},
	"not_yet_valid": {"The credential is not valid yet.", "凭证尚未生效。",
		"Check the date on the citizen's phone, or try again later.", "请检查市民手机日期，或稍后再试。"},
	"credential_revoked": {"The agency has revoked this credential.", "签发机关已撤销该凭证。",
		"Do not accept it. The citizen should contact the agency that issued it.", "请勿受理。请市民联系签发机关。"},
	"credential_suspended": {"The agency has suspended this credential.", "签发机关已暂停该凭证。",
		"Do not accept it for now. The citizen should contact the agency that issued it.", "暂不受理。请市民联系签发机关。"},
	"status_unavailable": {"The credential's status could not be checked.", "无法查询凭证状态。",
		"Try again in a minute; if it persists, call support.", "请稍后重试；如仍失败，请联系技术支持。"},
	"issuer_not_accredited": {"The issuing agency is not accredited for this credential.", "签发机关未获授权签发此类凭证。",
		"Do not accept it. Ask for a credential from an accredited agency.", "请勿受理。请市民出示经授权机关签发的凭证。"},
	"issuer_unknown": {"The issuing agency is not in the registry.", "登记簿中没有该签发机关。",
		"Do not accept it. Ask for a credential from a registered agency.", "请勿受理。请市民出示登记机关签发的凭证。"},
	"issuer_key_unresolved": {"The issuing agency's keys could not be found.", "无法获取签发机关的密钥。",
		"Try again in a minute; if it persists, call support.", "请稍后重试；如仍失败，请联系技术支持。"},
	"issuer_key_refused": {"The issuing agency's key is not the one the registry names.", "签发机关密钥与登记簿不符。",
		"Do not accept it. Call support.", "请勿受理，并联系技术支持。"},
	"registry_unavailable": {"The registry could not be reached.", "无法连接登记簿。",
		"Try again in a minute; if it persists, call support.", "请稍后重试；如仍失败，请联系技术支持。"},
	"invalid_signature": {"The credential's signature is wrong: it may have been altered.", "凭证签名无效，可能已被篡改。",
		"Do not accept it.", "请勿受理。"},
	"wallet_error": {"The citizen's wallet sent no credential: it was declined, or none fits.", "市民钱包未发送凭证：已拒绝或没有符合的凭证。",
		"Ask the citizen to try again and approve; if they lack the credential, they get it at the issuing agency.", "请市民重试并同意；如无该凭证，请到签发机关办理。"},
	"access_denied": {"The citizen declined to share.", "市民拒绝了共享。",
		"Ask whether they want to continue, then show a new QR code.", "询问市民是否继续，然后显示新的二维码。"},
	"no_matching_credentials": {"The wallet holds no credential that fits this request.", "钱包中没有符合要求的凭证。",
		"The citizen gets the credential at the issuing agency, then tries again.", "请市民到签发机关办理凭证后重试。"},
	"missing_credential": {"A required credential was not sent.", "缺少所需凭证。",
		"Ask the citizen to share every credential the request lists.", "请市民共享请求所列的全部凭证。"},
	"claim_missing": {"The credential lacks a required item.", "凭证缺少必需的信息。",
		"Ask the citizen to share every item the request lists.", "请市民共享请求所列的全部信息。"},
	"claim_value_mismatch": {"The credential does not meet the requirement (for example, not a Beijing resident, or under the age asked).", "凭证不符合要求（例如非北京市居民或年龄不符）。",
		"This citizen does not qualify for this check.", "该市民不符合本项核验要求。"},
	"vct_not_requested": {"The wallet sent a different kind of credential.", "钱包发送的凭证类型不符。",
		"Ask the citizen to choose the credential the screen names.", "请市民选择屏幕所示的凭证。"},
	"untrusted_authority": {"The issuing agency is not certified by the authority this check requires (for example, the city trust authority).", "签发机关未经本项核验要求的认证机构（例如市信任机构）认证。",
		"Do not accept it. Ask for a credential from an agency the city trust authority has certified.", "请勿受理。请市民出示经市信任机构认证的机关签发的凭证。"},
	"transaction_data_mismatch": {"The payment the citizen signed differs from the order.", "市民签名的支付信息与订单不符。",
		"Do not accept it. Start the payment again.", "请勿受理，并重新发起支付。"},
	"session_expired": {"The QR code expired before the wallet answered.", "二维码在钱包回应前已过期。",
		"Show a new QR code.", "请显示新的二维码。"},
	"expired_session": {"The QR code expired before the wallet answered.", "二维码在钱包回应前已过期。",
		"Show a new QR code.", "请显示新的二维码。"},
	"replay": {"This answer was already used once.", "该回应已被使用过。",
		"Show a new QR code.", "请显示新的二维码。"},
	"state_mismatch": {"The answer does not belong to this QR code.", "回应与本二维码不符。",
		"Show a new QR code.", "请显示新的二维码。"},
	"different_citizen": {"This is not the person who booked.", "签到人与预约人不符。",
		"Ask for the booking holder, or book a new slot.", "请预约人本人签到，或重新预约。"},
	"not_booked": {"There is no active booking with that number.", "没有该号码的有效预约。",
		"Check the number, or book a slot.", "请核对预约号，或重新预约。"},
	"identity incomplete": {"The identity credential lacks the name or birth date.", "身份凭证缺少姓名或出生日期。",
		"The citizen should renew their identity credential at the PSB.", "请市民到公安局更新身份凭证。"},
	// Counter and agency console.
	"unknown_purpose": {"This counter may not ask for that check.", "本窗口无权进行该项核验。",
		"Choose one of the checks listed, or ask an administrator.", "请选择列出的核验事项，或联系管理员。"},
	"unauthorized": {"You are not signed in, or your token was revoked.", "未登录或令牌已被撤销。",
		"Sign in again with a valid token.", "请使用有效令牌重新登录。"},
	"not_found": {"Nothing was found.", "未找到相关内容。",
		"Check the reference or link and try again.", "请核对编号或链接后重试。"},
	"conflict": {"That was already done, or cannot be done in this state.", "该操作已完成，或当前状态不允许。",
		"Reload the page to see the current state.", "请刷新页面查看当前状态。"},
	"invalid_claims": {"Some fields are missing or wrong.", "部分信息缺失或有误。",
		"Correct the fields named below and submit again.", "请按提示修改后重新提交。"},
	"invalid_request": {"Some input is missing or wrong.", "输入缺失或有误。",
		"Correct it as described and submit again.", "请按说明修改后重新提交。"},
	"request_too_large": {"The text is too long.", "内容过长。",
		"Shorten it and submit again.", "请缩短后重新提交。"},
	// Inquiries.
	"topic_closed": {"This topic takes no new questions.", "该主题已停止受理新咨询。",
		"Choose another topic, or contact the agency.", "请选择其他主题，或直接联系机关。"},
	"proof_required": {"This topic takes questions only from people who prove something about themselves.", "该主题仅受理提供身份证明的咨询。",
		"Tick at least one proof, then scan the QR code with your wallet.", "请至少勾选一项证明，然后用钱包扫码。"},
	"proof_not_allowed": {"This topic does not ask for that proof.", "该主题不需要此项证明。",
		"Untick it and send again.", "请取消勾选后重新提交。"},
	"rate_limited": {"Too many questions were sent from here in the last hour.", "过去一小时内从此处提交的咨询过多。",
		"Wait an hour, or reply in a thread you already have.", "请一小时后再试，或在已有咨询中回复。"},
	"inquiry_closed": {"This inquiry is closed.", "该咨询已关闭。",
		"Ask a new question if you need more help.", "如需帮助，请提交新的咨询。"},
	"too_many_messages": {"This thread is full.", "该咨询的留言已达上限。",
		"Ask a new question.", "请提交新的咨询。"},
	"not_verified": {"The proof for this question was not given.", "该咨询的身份证明未完成。",
		"Ask again and scan the QR code with your wallet.", "请重新提交并用钱包扫码。"},
	"proof_unavailable": {"Proofs are not available on this server.", "本服务器不支持身份证明。",
		"Ask without a proof, or contact the agency.", "请不附证明提交，或直接联系机关。"},
	"invalid_text": {"A name or text holds characters that are not allowed (control or direction characters).", "名称或文字含有不允许的字符（控制字符或方向字符）。",
		"Retype it without pasting from another program.", "请直接输入，勿从其他程序粘贴。"},
	"temporarily_unavailable": {"The service is busy right now: nothing was saved.", "系统繁忙，本次操作未保存。",
		"Wait a moment and try again.", "请稍候再试。"},
	"server_error": {"Something went wrong on our side.", "系统出现错误。",
		"Try again; if it persists, call support.", "请重试；如仍失败，请联系技术支持。"},
}

// explainCode is a code's explanation as one line of text:
// "What happened. 中文 What to do. 中文 (code: x)".
func explainCode(code string) string {
	p, ok := problems[code]
	if !ok {
		p = problems["server_error"]
		p.EN, p.ZH = "The request failed.", "请求失败。"
	}
	return p.EN + " " + p.ZH + " " + p.NextEN + " " + p.NextZH + " (code: " + code + ")"
}

// explainHTML renders a code's explanation for a page: what happened,
// what to do, and the code in small print. Everything is escaped.
func explainHTML(code string) template.HTML { return explainAs(code, code) }

// explainAs explains key's entry and shows code for support.
func explainAs(key, code string) template.HTML {
	p, ok := problems[key]
	if !ok {
		p = problems["server_error"]
		p.EN, p.ZH = "The check failed.", "核验未通过。"
	}
	e := template.HTMLEscapeString
	return template.HTML(`<strong class="what">` + e(p.EN) + ` <span lang="zh">` + e(p.ZH) + `</span></strong><br>` +
		`<span class="next">What to do <span lang="zh">处理办法</span>: ` + e(p.NextEN) + ` <span lang="zh">` + e(p.NextZH) + `</span></span><br>` +
		`<small class="code">Code for support <span lang="zh">支持代码</span>: ` + e(code) + `</small>`)
}

// resultCode is the code to explain for a verifier result: a wallet's
// own error code when it sent one we explain (access_denied), else the
// result's code.
func resultCode(r *verifier.Result) string {
	if r.Code == verifier.CodeWalletError {
		if slices.Contains(walletErrors, r.WalletError) {
			return r.WalletError
		}
	}
	return string(r.Code)
}

// walletErrors are the errors a wallet answers (OpenID4VP 1.0 §8.5) that
// have an explanation of their own.
var walletErrors = []string{"access_denied", "no_matching_credentials"}

// pageStatuses is the pages' one table from domain codes to the status of
// a page that shows a refusal (the page explains the code, see problems).
// Every inquiries code is here (TestPageStatusesCoverEveryCode): a refused
// form is a 400 unless its code says otherwise.
var pageStatuses = map[inquiries.Code]int{
	inquiries.CodeInvalidRequest:   http.StatusBadRequest,
	inquiries.CodeNotFound:         http.StatusNotFound,
	inquiries.CodeTopicClosed:      http.StatusBadRequest,
	inquiries.CodeProofRequired:    http.StatusBadRequest,
	inquiries.CodeProofNotAllowed:  http.StatusBadRequest,
	inquiries.CodeRateLimited:      http.StatusTooManyRequests,
	inquiries.CodeClosed:           http.StatusBadRequest,
	inquiries.CodeTooManyMessages:  http.StatusBadRequest,
	inquiries.CodeConflict:         http.StatusBadRequest,
	inquiries.CodeNotVerified:      http.StatusBadRequest,
	inquiries.CodeProofUnavailable: http.StatusBadRequest,
}

// pageStatus is the status of a page that shows err: its inquiries code's
// in [pageStatuses], else 400.
func pageStatus(err error) int {
	if s, ok := pageStatuses[inquiries.CodeOf(err)]; ok {
		return s
	}
	return http.StatusBadRequest
}

// publicError is the explanation of a typed, user-facing error; anything
// else is a generic failure (its detail may be internal).
func publicError(err error) string {
	var ve *verifier.Error
	var ie *issuer.Error
	var qe *inquiries.Error
	var te *text.Error
	var busy interface{ RetryAfter() time.Duration }
	switch {
	case errors.As(err, &qe):
		if qe.Code == inquiries.CodeInvalidRequest && qe.Description != "" {
			return explainCode(string(qe.Code)) + " — " + qe.Description
		}
		return explainCode(string(qe.Code))
	case errors.As(err, &ve):
		return explainCode(string(ve.Code))
	case errors.As(err, &ie):
		if ie.Code == issuer.CodeInvalidClaims && ie.Description != "" {
			return explainCode(string(ie.Code)) + " — " + ie.Description
		}
		return explainCode(string(ie.Code))
	case errors.As(err, &te):
		return explainCode(string(te.Code)) + " — " + te.Description
	case errors.As(err, &busy): // a transaction that lost every retry to other writers
		return explainCode("temporarily_unavailable")
	}
	return explainCode("server_error")
}

// templateFuncs are the helpers every template may call.
var templateFuncs = template.FuncMap{
	// explain renders a failure code for a person (see problems).
	"explain": explainHTML,
	// explainAs explains one entry and shows another code (the counter:
	// credential_expired for the check code expired).
	"explainAs": explainAs,
}
